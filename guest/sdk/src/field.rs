//! Calculated fields with their setup done once per instance: implement
//! [`Field`] and export it with [`export_field!`](crate::export_field).
//!
//! The `calculated-field` world gives a new instance its settings and its
//! arguments' names once, in `init`, and then only the values, in that
//! order, on every `compute`. A [`Field`] is what `init` builds from them
//! (parsed settings, where each argument it needs is: an [`Arg`]); it is
//! kept in the instance and borrowed by every `compute`.

use crate::calculated_field::{ArgumentValue, Output};
use crate::types::{EntityId, Error, TsValue};

/// A calculated field: what it keeps from `init`, and how it computes.
pub trait Field: Sized + 'static {
    /// Builds the field from its JSON settings (`"{}"` when none) and its
    /// arguments' names, in the order of `compute`'s values. An error
    /// (`invalid-argument`: bad settings, a missing argument) fails the
    /// call that started the instance.
    fn init(settings_json: &str, argument_names: Vec<String>) -> Result<Self, Error>;

    /// The outputs for the field of `entity`, from the values of its
    /// arguments (one per name given to `init`, in that order), at the
    /// time `now_ms` of the triggering event.
    fn compute(
        &self,
        entity: EntityId,
        arguments: Vec<ArgumentValue>,
        now_ms: i64,
    ) -> Result<Vec<Output>, Error>;
}

/// One argument of the field, found by name in `init`: where its value is
/// among `compute`'s, and its name for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    index: usize,
    name: String,
}

impl Arg {
    /// The argument called `name` among `argument_names` (as `init` got
    /// them); `invalid-argument` when the field has none of that name.
    pub fn find(argument_names: &[String], name: &str) -> Result<Arg, Error> {
        argument_names
            .iter()
            .position(|n| n == name)
            .map(|index| Arg {
                index,
                name: name.to_owned(),
            })
            .ok_or_else(|| Error::invalid(format!("the field has no argument {name}")))
    }

    /// Every argument, by position, in the order `init` got the names.
    pub fn all(argument_names: Vec<String>) -> Vec<Arg> {
        argument_names
            .into_iter()
            .enumerate()
            .map(|(index, name)| Arg { index, name })
            .collect()
    }

    /// The argument's name in the field's configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its value among `compute`'s `arguments`.
    pub fn value<'a>(&self, arguments: &'a [ArgumentValue]) -> Result<&'a ArgumentValue, Error> {
        arguments
            .get(self.index)
            .ok_or_else(|| Error::invalid(format!("no value for argument {}", self.name)))
    }

    /// Its newest value as a number (see
    /// [`Value::as_f64`](crate::types::Value::as_f64)); `invalid-argument`
    /// when it has no value or it is not a number.
    pub fn number(&self, arguments: &[ArgumentValue]) -> Result<f64, Error> {
        let point = self
            .value(arguments)?
            .latest()
            .ok_or_else(|| Error::invalid(format!("argument {} has no value", self.name)))?;
        point
            .value
            .as_f64()
            .ok_or_else(|| Error::invalid(format!("argument {} is not a number", self.name)))
    }

    /// Its points: a rolling window, or the one value (if any).
    pub fn points<'a>(&self, arguments: &'a [ArgumentValue]) -> Result<&'a [TsValue], Error> {
        self.value(arguments).map(ArgumentValue::points)
    }
}

/// Exports a [`Field`] as the component's `calculated-field` world: `init`
/// builds it and keeps it in the instance, `compute` borrows it.
///
/// ```ignore
/// clientele_guest::export_field!(DewPoint);
/// ```
#[macro_export]
macro_rules! export_field {
    ($field:ty) => {
        const _: () = {
            ::std::thread_local! {
                // A component instance is single-threaded: one field per
                // instance, set by `init`.
                static FIELD: ::core::cell::RefCell<::core::option::Option<$field>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct Exported;

            impl $crate::calculated_field::Guest for Exported {
                fn init(
                    settings_json: ::std::string::String,
                    argument_names: ::std::vec::Vec<::std::string::String>,
                ) -> ::core::result::Result<(), $crate::types::Error> {
                    let field = <$field as $crate::Field>::init(&settings_json, argument_names)?;
                    FIELD.with(|f| *f.borrow_mut() = ::core::option::Option::Some(field));
                    ::core::result::Result::Ok(())
                }

                fn compute(
                    entity: $crate::types::EntityId,
                    arguments: ::std::vec::Vec<$crate::calculated_field::ArgumentValue>,
                    now_ms: i64,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<$crate::calculated_field::Output>,
                    $crate::types::Error,
                > {
                    FIELD.with(|f| match &*f.borrow() {
                        ::core::option::Option::Some(field) => {
                            $crate::Field::compute(field, entity, arguments, now_ms)
                        }
                        ::core::option::Option::None => ::core::result::Result::Err(
                            $crate::types::Error::invalid("compute was called before init"),
                        ),
                    })
                }
            }

            $crate::export_calculated_field!(Exported);
        };
    };
}
