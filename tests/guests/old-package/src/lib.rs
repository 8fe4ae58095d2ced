//! A calculated field built against an older version of the Clientele
//! package (its `log` import and its `compute` are those of 0.2.0, trimmed
//! to what this guest uses). The host must refuse it when it is loaded,
//! naming the version it was built against. Host setup: none.

wit_bindgen::generate!({
    inline: "
        package clientele:platform@0.2.0;

        interface log {
            log: func(message: string);
        }

        world calculated-field {
            import log;
            export compute: func(settings-json: string) -> list<string>;
        }
    ",
});

struct OldPackage;

impl Guest for OldPackage {
    fn compute(settings_json: String) -> Vec<String> {
        clientele::platform::log::log(&settings_json);
        vec![settings_json]
    }
}

export!(OldPackage);
