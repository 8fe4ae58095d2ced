//! A calculated field that imports `data-write` (through a world of its own
//! that includes `calculated-field`) and saves telemetry of its entity.
//! The `calculated-field` world does not offer `data-write`, so the host
//! must refuse this component when it is loaded, naming the import.
//! Host setup: none.

// The generated export glue takes the flattened record fields one by one.
#![allow(clippy::too_many_arguments)]

wit_bindgen::generate!({
    inline: "
        package test:field-writes;

        world field-writes {
            include clientele:platform/calculated-field@0.2.0;
            import clientele:platform/data-write@0.2.0;
        }
    ",
    path: "../../../wit",
    generate_all,
});

use clientele::platform::data_write;

struct FieldWrites;

impl Guest for FieldWrites {
    fn compute(
        entity: EntityId,
        _: String,
        _: Vec<Argument>,
        now_ms: i64,
    ) -> Result<Vec<Output>, Error> {
        let point = data_write::TsKv {
            ts: now_ms,
            key: "sneaked".into(),
            value: Value::Boolean(true),
        };
        data_write::save_telemetry(&entity, &[point])?;
        Ok(vec![])
    }
}

export!(FieldWrites);
