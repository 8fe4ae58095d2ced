//! Clientele: customer management for IoT tenants, on the edge.
//!
//! One binary serves ThingsBoard's REST API over an embedded redb store.
//! Layers, each knowing only the ones below it:
//! [`api`] → [`service`] → [`domain`] + [`store`]; [`auth`] holds passwords,
//! tokens and the permission rules; [`transport`] is the device MQTT endpoint
//! beside [`api`].

pub mod api;
pub mod auth;
pub mod config;
pub mod domain;
pub mod server;
pub mod service;
pub mod store;
pub mod transport;
pub mod wasm;
