//! Entities, ids and validation: plain Rust with no I/O.

pub mod alarm;
pub mod alarm_query;
pub mod asset;
pub mod assignable;
pub mod audit;
pub mod calculated_field;
pub mod contact;
pub mod customer;
pub mod dashboard;
pub mod device;
pub mod entity_group;
pub mod event;
pub mod expression;
pub mod extension;
pub mod group_permission;
pub mod ids;
pub mod info;
pub mod logic_binding;
pub mod page;
pub mod role;
pub mod share;
pub mod telemetry;
pub mod telemetry_payload;
pub mod tenant;
pub mod user;
pub mod validate;
