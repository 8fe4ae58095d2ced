//! A calculated field that imports `data-write` (through a world of its own
//! that includes `calculated-field`) and saves telemetry of its entity.
//! The `calculated-field` world does not offer `data-write`, so the host
//! must refuse this component when it is loaded, naming the import.
//! Host setup: none.

wit_bindgen::generate!({
    inline: "
        package test:field-writes;

        world field-writes {
            include clientele:platform/calculated-field@0.3.0;
            import clientele:platform/data-write@0.3.0;
        }
    ",
    path: "../../../wit",
    generate_all,
});

use clientele::platform::data_write;

struct FieldWrites;

impl Guest for FieldWrites {
    fn init(_: String, _: Vec<String>) -> Result<(), Error> {
        Ok(())
    }

    fn compute(entity: EntityId, _: Vec<ArgumentValue>, now_ms: i64) -> Result<Vec<Output>, Error> {
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
