//! Device transports: the MQTT endpoint that devices and gateways connect
//! to with their access token (ThingsBoard's device topics). The HTTP device
//! API lives with the REST API in [`crate::api`].

pub mod mqtt;
