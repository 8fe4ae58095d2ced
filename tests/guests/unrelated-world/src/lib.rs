//! A well-formed component of a world that has nothing to do with
//! Clientele. The host must refuse it, saying it implements neither world.
//! Host setup: none.

wit_bindgen::generate!({
    inline: "
        package test:unrelated@0.1.0;

        world greeter {
            export greet: func(name: string) -> string;
        }
    ",
});

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }
}

export!(Greeter);
