//! Settings: embedded defaults, then a TOML file, then `CLIENTELE_*`
//! environment variables (nested keys with `__`, e.g. `CLIENTELE_SMTP__HOST`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::password::PasswordPolicy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the redb file lives.
    pub data_dir: PathBuf,
    /// redb's page cache, in MiB: more makes reads of big histories faster,
    /// less keeps the footprint small.
    pub store_cache_mib: usize,
    /// Writes that may wait for or be inside the writer at once; beyond it
    /// producers (device sessions, HTTP requests) wait: bounded memory.
    pub max_queued_writes: usize,
    /// REST API and web UI.
    pub http_addr: SocketAddr,
    /// Device MQTT endpoint (ThingsBoard's device and gateway topics).
    pub mqtt_addr: SocketAddr,
    /// Base of links sent to users (activation, reset); taken from the
    /// request's `Host` when unset.
    pub public_url: Option<String>,
    /// First start only: the system administrator and the first tenant's
    /// administrator. Missing passwords are generated and printed once.
    pub sysadmin_email: String,
    pub sysadmin_password: Option<String>,
    pub tenant_title: String,
    pub tenant_admin_email: String,
    pub tenant_admin_password: Option<String>,
    pub jwt: JwtSettings,
    pub security: SecuritySettings,
    pub smtp: Option<SmtpSettings>,
    pub http: HttpSettings,
    pub mqtt: MqttSettings,
    /// Ingest from an existing broker (off unless configured).
    pub bridge: Option<BridgeSettings>,
    /// WebAssembly extensions: the engine and what one guest call may use.
    pub wasm: WasmSettings,
    pub events: EventSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./data"),
            store_cache_mib: crate::store::DEFAULT_CACHE_BYTES >> 20,
            max_queued_writes: 16_384,
            http_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            mqtt_addr: SocketAddr::from(([0, 0, 0, 0], 1883)),
            public_url: None,
            sysadmin_email: "sysadmin@clientele.local".into(),
            sysadmin_password: None,
            tenant_title: "Tenant".into(),
            tenant_admin_email: "tenant@clientele.local".into(),
            tenant_admin_password: None,
            jwt: JwtSettings::default(),
            security: SecuritySettings::default(),
            smtp: None,
            http: HttpSettings::default(),
            mqtt: MqttSettings::default(),
            bridge: None,
            wasm: WasmSettings::default(),
            events: EventSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtSettings {
    /// ThingsBoard's defaults: 2.5 h access, 1 week refresh.
    pub access_ttl_s: i64,
    pub refresh_ttl_s: i64,
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings {
            access_ttl_s: 9000,
            refresh_ttl_s: 604_800,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    pub password_policy: PasswordPolicy,
    /// Failed logins in a row before the account is locked; 0 disables.
    pub max_failed_login_attempts: u32,
    /// How long a lockout lasts; 0 keeps the account locked until an
    /// administrator enables it again (ThingsBoard's behaviour).
    pub lockout_minutes: i64,
    pub activation_ttl_hours: i64,
    pub reset_ttl_hours: i64,
    /// Argon2 hashes run at most this many at once (each takes ~19 MiB).
    pub max_concurrent_hashes: usize,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            password_policy: PasswordPolicy::default(),
            max_failed_login_attempts: 5,
            lockout_minutes: 15,
            activation_ttl_hours: 24,
            reset_ttl_hours: 24,
            max_concurrent_hashes: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (loopback relays, tests).
    None,
    /// STARTTLS upgrade (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub from: String,
    #[serde(default = "default_tls")]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "default_smtp_timeout")]
    pub timeout_s: u64,
}

fn default_tls() -> SmtpTls {
    SmtpTls::Starttls
}

fn default_smtp_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest request body; bigger ones get 413.
    pub max_body_bytes: usize,
    /// Requests handled at once; more wait (back-pressure, bounded memory).
    pub max_concurrent_requests: usize,
    /// How often an open WebSocket's token is checked again (seconds).
    pub ws_token_recheck_s: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 1024 * 1024,
            max_concurrent_requests: 1024,
            ws_token_recheck_s: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttSettings {
    /// Largest MQTT packet accepted; bigger ones close the connection.
    pub max_packet_bytes: usize,
    /// QoS 1 messages a connection may have awaiting their PUBACK; more
    /// are read only once earlier ones are acknowledged (back-pressure).
    pub max_inflight: usize,
    /// Seconds a client has to send CONNECT after opening the socket.
    pub connect_timeout_s: u64,
}

impl Default for MqttSettings {
    fn default() -> Self {
        MqttSettings {
            max_packet_bytes: 64 * 1024,
            max_inflight: 100,
            connect_timeout_s: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WasmSettings {
    /// CPU time one guest call may use, in ms; wall time is capped at ten
    /// times this (see `wasm/deadline.rs`).
    pub deadline_ms: u64,
    /// Linear memory one guest instance may grow to, in bytes; also what
    /// each slot of the engine's instance pool is sized for.
    pub memory_bytes: usize,
    /// What one call may return or save, in bytes.
    pub max_output_bytes: usize,
    /// Host calls (reads, writes, alarms, log lines) one call may make.
    pub max_host_calls: u32,
    /// Largest component accepted on upload; bigger bodies get 413.
    pub max_component_bytes: usize,
    /// Guest instances alive at once, across all extensions; half of them
    /// at most are kept warm between calls.
    pub max_instances: u32,
    /// The epoch tick: the granularity of deadlines, in ms.
    pub tick_ms: u64,
    /// Failed calls in a row after which an extension is suspended (not
    /// called until it is uploaded again or the service restarts); 0 never
    /// suspends.
    pub max_consecutive_failures: u32,
}

impl Default for WasmSettings {
    fn default() -> Self {
        let limits = crate::wasm::Limits::default();
        let engine = crate::wasm::EngineConfig::default();
        WasmSettings {
            deadline_ms: limits.deadline.as_millis() as u64,
            memory_bytes: limits.memory_bytes,
            max_output_bytes: limits.max_output_bytes,
            max_host_calls: limits.max_host_calls,
            max_component_bytes: limits.max_component_bytes,
            max_instances: engine.max_instances,
            tick_ms: engine.tick.as_millis() as u64,
            max_consecutive_failures: 10,
        }
    }
}

impl WasmSettings {
    /// What one call of an extension may use.
    pub fn limits(&self) -> crate::wasm::Limits {
        crate::wasm::Limits {
            deadline: std::time::Duration::from_millis(self.deadline_ms.max(1)),
            memory_bytes: self.memory_bytes,
            max_output_bytes: self.max_output_bytes,
            max_host_calls: self.max_host_calls,
            max_component_bytes: self.max_component_bytes,
        }
    }

    /// How the engine is sized.
    pub fn engine(&self) -> crate::wasm::EngineConfig {
        crate::wasm::EngineConfig {
            tick: std::time::Duration::from_millis(self.tick_ms.max(1)),
            max_instances: self.max_instances.max(1),
            max_memory_bytes: self.memory_bytes,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventSettings {
    /// Events kept per entity and type; recording one more deletes the
    /// oldest, so events cannot grow the store without bound.
    pub max_per_entity_and_type: usize,
}

impl EventSettings {
    /// The cap in force: at least one event is kept.
    pub fn cap(&self) -> usize {
        self.max_per_entity_and_type.max(1)
    }
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            max_per_entity_and_type: 1_000,
        }
    }
}

/// An existing broker to subscribe to, and the gateway device whose
/// customer the bridged devices land under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeSettings {
    pub host: String,
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Keep it stable: the broker keeps the persistent session under it.
    #[serde(default = "default_bridge_client")]
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Access token of a gateway device (`additionalInfo.gateway = true`).
    pub gateway_token: String,
    /// Subscribe as `$share/<group>/...` so several nodes split the stream.
    #[serde(default)]
    pub shared_group: Option<String>,
    #[serde(default = "default_bridge_topics")]
    pub topics: Vec<String>,
    #[serde(default = "default_bridge_keep_alive")]
    pub keep_alive_s: u64,
    /// Messages being stored at once (and unacknowledged at the broker).
    #[serde(default = "default_bridge_inflight")]
    pub max_inflight: u16,
    #[serde(default = "default_bridge_packet")]
    pub max_packet_bytes: usize,
    #[serde(default = "default_reconnect_min")]
    pub reconnect_min_ms: u64,
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_ms: u64,
}

fn default_mqtt_port() -> u16 {
    1883
}
fn default_bridge_client() -> String {
    "clientele-bridge".into()
}
fn default_bridge_topics() -> Vec<String> {
    [
        "v1/gateway/connect",
        "v1/gateway/disconnect",
        "v1/gateway/telemetry",
        "v1/gateway/attributes",
    ]
    .map(String::from)
    .to_vec()
}
fn default_bridge_keep_alive() -> u64 {
    30
}
fn default_bridge_inflight() -> u16 {
    100
}
fn default_bridge_packet() -> usize {
    256 * 1024
}
fn default_reconnect_min() -> u64 {
    250
}
fn default_reconnect_max() -> u64 {
    30_000
}

impl BridgeSettings {
    /// A bridge to a local broker with every default: for docs and tests.
    pub fn example() -> Self {
        BridgeSettings {
            host: "127.0.0.1".into(),
            port: default_mqtt_port(),
            client_id: default_bridge_client(),
            username: None,
            password: None,
            gateway_token: "GATEWAY_TOKEN".into(),
            shared_group: None,
            topics: default_bridge_topics(),
            keep_alive_s: default_bridge_keep_alive(),
            max_inflight: default_bridge_inflight(),
            max_packet_bytes: default_bridge_packet(),
            reconnect_min_ms: default_reconnect_min(),
            reconnect_max_ms: default_reconnect_max(),
        }
    }
}

impl Settings {
    /// Defaults, overridden by the TOML file (if given) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "config file {} does not exist",
                    file.display()
                ))));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        // `CLIENTELE_CONFIG` names the file itself and is no setting.
        figment
            .merge(Env::prefixed("CLIENTELE_").split("__").ignore(&["config"]))
            .extract()
            .map_err(Box::new)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("clientele.redb")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment's own error
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let s = Settings::default();
        assert_eq!(s.http_addr.port(), 8080);
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert!(s.sysadmin_password.is_none());
    }

    #[test]
    fn file_and_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "http_addr = '127.0.0.1:9000'\n[security]\nmax_failed_login_attempts = 3\n",
            )?;
            jail.set_env("CLIENTELE_DATA_DIR", "/tmp/x");
            jail.set_env("CLIENTELE_SECURITY__LOCKOUT_MINUTES", "0");
            jail.set_env("CLIENTELE_WASM__DEADLINE_MS", "250");
            jail.set_env("CLIENTELE_CONFIG", "c.toml");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| *e)?;
            assert_eq!(s.http_addr.port(), 9000);
            assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
            assert_eq!(s.security.max_failed_login_attempts, 3);
            assert_eq!(s.security.lockout_minutes, 0);
            assert_eq!(
                s.wasm.limits().deadline,
                std::time::Duration::from_millis(250)
            );
            assert_eq!(
                s.wasm.max_component_bytes,
                8 << 20,
                "the rest keeps its default"
            );
            Ok(())
        });
    }

    #[test]
    fn the_readme_example_is_a_valid_configuration() {
        let readme = include_str!("../../README.md");
        let start = readme.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let example = &readme[start..start + readme[start..].find("```").expect("end of example")];
        figment::Jail::expect_with(|jail| {
            jail.create_file("example.toml", example)?;
            let s = Settings::load(Some(Path::new("example.toml"))).map_err(|e| *e)?;
            assert_eq!(s.mqtt_addr.port(), 1883);
            assert!(s.smtp.is_some());
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "htp_addr = '1'\n")?;
            assert!(Settings::load(Some(Path::new("bad.toml"))).is_err());
            jail.create_file("bad2.toml", "http_addr = 'nope'\n")?;
            assert!(Settings::load(Some(Path::new("bad2.toml"))).is_err());
            jail.create_file("bad3.toml", "[wasm]\ndeadline = 5\n")?;
            assert!(Settings::load(Some(Path::new("bad3.toml"))).is_err());
            assert!(Settings::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }
}
