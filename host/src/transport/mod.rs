//! Device transports: the MQTT endpoint that devices and gateways connect
//! to with their access token (ThingsBoard's device topics), and the bridge
//! that ingests the gateway topics from an existing broker. The HTTP device
//! API lives with the REST API in [`crate::api`].

pub mod bridge;
pub mod mqtt;
