//! Integration tests: the real service on loopback sockets over a real redb
//! file, driven over HTTP as a client would.

mod alarms;
mod audit;
mod auth;
mod bad_input;
mod bridge;
mod calculated_fields;
mod customer_admins;
mod customer_logic;
mod customer_tree;
mod customers;
mod devices;
mod entity_groups;
mod events;
mod extensions;
mod group_sharing;
mod isolation;
mod live;
mod mail;
mod mqtt;
mod permission_matrix;
mod public_login;
mod python_client;
mod restart;
mod roles;
mod telemetry;
mod tenant_users;
mod two_tenants;
mod users;
mod visible_lists;
mod wasm_fields;
