//! A real Clientele on loopback for integration tests: a fresh redb file in
//! a temporary directory, the HTTP API and the device MQTT endpoint on ports
//! the OS picks, and a small client that speaks ThingsBoard's auth header.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use clientele::config::{Settings, SmtpSettings, SmtpTls};
use clientele::service::App;
use clientele::store::RedbStore;

pub mod mosquitto;
pub mod smtp;

pub const SYSADMIN: &str = "sysadmin@test.io";
pub const TENANT_ADMIN: &str = "admin@tenant-one.io";
pub const PASSWORD: &str = "Pa55word!";

/// A running service; stops (and closes its store) when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The device MQTT endpoint.
    pub mqtt_addr: SocketAddr,
    pub app: App,
    pub dir: tempfile::TempDir,
    store: Arc<RedbStore>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts with test defaults changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            http_addr: "127.0.0.1:0".parse().expect("addr"),
            sysadmin_email: SYSADMIN.into(),
            sysadmin_password: Some(PASSWORD.into()),
            tenant_admin_email: TENANT_ADMIN.into(),
            tenant_admin_password: Some(PASSWORD.into()),
            ..Settings::default()
        };
        tweak(&mut settings);
        Self::start_in(dir, settings).await
    }

    /// Starts over an existing data directory (for restarts).
    pub async fn start_in(dir: tempfile::TempDir, settings: Settings) -> TestServer {
        let store = Arc::new(RedbStore::open(&settings.db_path()).expect("open store"));
        let (app, _) = App::open(settings, store.clone()).await.expect("open app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mqtt = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind MQTT");
        let mqtt_addr = mqtt.local_addr().expect("MQTT addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = app.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            clientele::server::run(listener, mqtt, serving, shutdown)
                .await
                .expect("serve");
        });
        TestServer {
            addr,
            mqtt_addr,
            app,
            dir,
            store,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The store itself, to stage what no route can (yet) in a test.
    pub fn store(&self) -> Arc<RedbStore> {
        self.store.clone()
    }

    /// The store's writer statistics: (durable commits, jobs committed).
    pub fn writer_stats(&self) -> (u64, u64) {
        self.store.stats()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.url(""),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    /// A client sending `token`, whatever it is (forged tokens included).
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..self.anonymous()
        }
    }

    /// Asks to log in: the status and the body (the token pair, or the error).
    pub async fn try_login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.anonymous()
            .post(
                "/api/auth/login",
                json!({"username": email, "password": password}),
            )
            .await
    }

    /// Logs in and returns a client carrying the token; panics if refused.
    pub async fn login(&self, email: &str, password: &str) -> Client {
        let (status, body) = self.try_login(email, password).await;
        assert_eq!(status, StatusCode::OK, "login of {email} failed: {body}");
        self.with_token(body["token"].as_str().expect("token"))
    }

    /// Sets the first password with an activation token: the status and
    /// the body (the token pair, or the error).
    pub async fn activate(&self, token: &str, password: &str) -> (StatusCode, Value) {
        self.anonymous()
            .post(
                "/api/noauth/activate",
                json!({"activateToken": token, "password": password}),
            )
            .await
    }

    /// Creates a tenant (as the system administrator `sys`) with an
    /// administrator, activated with [`PASSWORD`] and logged in.
    pub async fn new_tenant(&self, sys: &Client, title: &str, admin_email: &str) -> NewTenant {
        let tenant = sys.post_ok("/api/tenant", json!({"title": title})).await;
        let admin = sys
            .post_ok(
                "/api/user?sendActivationMail=false",
                json!({
                    "email": admin_email,
                    "authority": "TENANT_ADMIN",
                    "tenantId": {"entityType": "TENANT", "id": id(&tenant)},
                }),
            )
            .await;
        let link = sys
            .get_ok(&format!("/api/user/{}/activationLink", id(&admin)))
            .await;
        let token = activation_token(link.as_str().expect("link text"));
        let (status, body) = self.activate(&token, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "activating {admin_email}: {body}");
        let client = self.login(admin_email, PASSWORD).await;
        NewTenant {
            tenant,
            admin,
            client,
        }
    }

    pub async fn tenant_admin(&self) -> Client {
        self.login(TENANT_ADMIN, PASSWORD).await
    }

    pub async fn sysadmin(&self) -> Client {
        self.login(SYSADMIN, PASSWORD).await
    }

    /// Stops serving and closes the store, keeping the data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.shutdown().await;
        let dir = tempfile::tempdir().expect("placeholder");
        std::mem::replace(&mut self.dir, dir)
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.store.close();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What [`TestServer::new_tenant`] made.
pub struct NewTenant {
    pub tenant: Value,
    /// The administrator's user record.
    pub admin: Value,
    /// Logged in as the administrator.
    pub client: Client,
}

/// An HTTP client that sends `X-Authorization: Bearer <token>` when it has one.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Client {
    /// A request to `path` carrying the client's token, if it has one.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(token) => req.header("X-Authorization", format!("Bearer {token}")),
            None => req,
        }
    }

    /// Sends a request and returns the status and the body as JSON (or as a
    /// JSON string when the body is not JSON, or null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        reply(req).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Sends a request that must succeed (200) and returns the body.
    async fn call_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {body}");
        body
    }

    pub async fn get_ok(&self, path: &str) -> Value {
        self.call_ok(Method::GET, path, None).await
    }

    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        self.call_ok(Method::POST, path, Some(body)).await
    }

    pub async fn delete_ok(&self, path: &str) -> Value {
        self.call_ok(Method::DELETE, path, None).await
    }

    /// Sends a request that must fail with ThingsBoard's error JSON of this
    /// status and code (see [`assert_error`]) and returns the body.
    async fn call_err(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: u64,
    ) -> Value {
        let result = self.call(method, path, body).await;
        assert_error(&result, status, code);
        result.1
    }

    pub async fn get_err(&self, path: &str, status: u16, code: u64) -> Value {
        self.call_err(Method::GET, path, None, status, code).await
    }

    pub async fn post_err(&self, path: &str, body: Value, status: u16, code: u64) -> Value {
        self.call_err(Method::POST, path, Some(body), status, code)
            .await
    }

    pub async fn delete_err(&self, path: &str, status: u16, code: u64) -> Value {
        self.call_err(Method::DELETE, path, None, status, code)
            .await
    }

    /// Creates a device with this access token (a gateway if `gateway`)
    /// and returns its id; panics if refused.
    pub async fn create_device(&self, name: &str, token: &str, gateway: bool) -> String {
        let device = self
            .post_ok(
                &format!("/api/device?accessToken={token}"),
                json!({"name": name, "additionalInfo": {"gateway": gateway}}),
            )
            .await;
        id(&device)
    }

    /// Uploads `bytes` as WebAssembly extension `name`: the status and the body.
    pub async fn upload_extension(&self, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let req = self
            .request(
                Method::POST,
                &format!("/api/extension?name={}", percent_encoded(name)),
            )
            .header("Content-Type", "application/wasm")
            .body(bytes);
        reply(req).await
    }

    /// Uploads the compiled component at `path` (see
    /// `clientele-guest-artifacts`) as extension `name`; its id.
    pub async fn upload_artifact(&self, name: &str, path: &str) -> String {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let (status, body) = self.upload_extension(name, bytes).await;
        assert_eq!(status, StatusCode::OK, "uploading {name}: {body}");
        id(&body)
    }

    /// The server-scope attribute `key` of an entity, if it has one.
    pub async fn server_attribute(
        &self,
        entity_type: &str,
        entity: &str,
        key: &str,
    ) -> Option<Value> {
        let body = self
            .get_ok(&format!(
                "/api/plugins/telemetry/{entity_type}/{entity}/values/attributes/SERVER_SCOPE?keys={key}"
            ))
            .await;
        body.as_array()?
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"].clone())
    }

    /// The latest value of telemetry `key` of a device (strict JSON types)
    /// with its time, if it has one.
    pub async fn latest_point(&self, device: &str, key: &str) -> Option<(i64, Value)> {
        let body = self
            .get_ok(&format!(
                "/api/plugins/telemetry/DEVICE/{device}/values/timeseries?keys={key}&useStrictDataTypes=true"
            ))
            .await;
        let point = body[key].get(0)?;
        Some((point["ts"].as_i64()?, point["value"].clone()))
    }

    /// A page (up to 100) of an entity's events of one type, newest first.
    pub async fn events(&self, entity_type: &str, entity: &str, kind: &str) -> Vec<Value> {
        let page = self
            .get_ok(&format!(
                "/api/events/{entity_type}/{entity}/{kind}?pageSize=100&page=0"
            ))
            .await;
        page["data"].as_array().cloned().unwrap_or_default()
    }

    /// Creates a customer and returns it; panics if refused.
    pub async fn create_customer(&self, title: &str) -> Value {
        self.post_ok("/api/customer", json!({"title": title})).await
    }

    /// Creates a customer user without mail, activates it with [`PASSWORD`],
    /// and returns its id.
    pub async fn create_active_user(
        &self,
        server: &TestServer,
        customer_id: &str,
        email: &str,
    ) -> String {
        self.create_active_user_in(server, customer_id, email, &[])
            .await
    }

    /// As [`Client::create_active_user`], created into the customer's user
    /// groups `groups` (none: its default group, "Customer Users").
    pub async fn create_active_user_in(
        &self,
        server: &TestServer,
        customer_id: &str,
        email: &str,
        groups: &[&str],
    ) -> String {
        let user = self
            .post_ok(
                &format!(
                    "/api/user?sendActivationMail=false&entityGroupIds={}",
                    groups.join(",")
                ),
                json!({"email": email, "authority": "CUSTOMER_USER", "customerId": customer_ref(customer_id)}),
            )
            .await;
        let id = id(&user);
        self.activate_user(server, &id, email).await;
        id
    }

    /// Activates the new user `user_id` (`email`) through its activation
    /// link, with [`PASSWORD`].
    pub async fn activate_user(&self, server: &TestServer, user_id: &str, email: &str) {
        let link = self
            .get_ok(&format!("/api/user/{user_id}/activationLink"))
            .await;
        let token = activation_token(link.as_str().expect("link text"));
        let (status, body) = server.activate(&token, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "activating {email}: {body}");
    }
}

/// The `id.id` of an entity in ThingsBoard's shape.
/// Publishes `payload` on `topic` as the device with access token `token`
/// over the device MQTT endpoint, at QoS 1, and waits for the PUBACK (sent
/// once the message is durable). Panics on refusal or after 10 s.
pub async fn mqtt_publish(server: &TestServer, token: &str, topic: &str, payload: Vec<u8>) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new(
        format!("test-{token}"),
        "127.0.0.1",
        server.mqtt_addr.port(),
    );
    options.set_credentials(token, "");
    let (client, mut events) = AsyncClient::new(options, 10);
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .expect("queue the publish");
    let acked = async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => return,
                Ok(_) => {}
                Err(e) => panic!("MQTT connection of {token} failed: {e}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), acked)
        .await
        .expect("a PUBACK in time");
    let _ = client.disconnect().await;
}

/// Waits until `check` holds, polling every 25 ms; panics naming `what`
/// after 15 s (what a background worker does is seen this way, without
/// sleeping for a guessed time).
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Percent-encodes a query value (every byte but letters and digits).
pub fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A customer's id in ThingsBoard's shape.
pub fn customer_ref(id: &str) -> Value {
    json!({"entityType": "CUSTOMER", "id": id})
}

pub fn id(entity: &Value) -> String {
    entity["id"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {entity}"))
        .to_owned()
}

/// The token at the end of an activation link.
pub fn activation_token(link: &str) -> String {
    link.rsplit_once("activateToken=")
        .map(|(_, t)| t.to_owned())
        .unwrap_or_else(|| panic!("no token in {link}"))
}

/// Sends `req` and reads the answer: the status, and the body as JSON (a
/// JSON string when it is not JSON, null when empty).
pub async fn reply(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Asserts ThingsBoard's error JSON with this status and code.
pub fn assert_error(result: &(StatusCode, Value), status: u16, code: u64) {
    let (got, body) = result;
    assert_eq!(got.as_u16(), status, "status of {body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["timestamp"].as_i64().is_some(), "{body}");
}

/// SMTP settings pointing at a local sink.
pub fn smtp_settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        from: "Clientele <noreply@clientele.test>".into(),
        tls: SmtpTls::None,
        username: None,
        password: None,
        timeout_s: 5,
    }
}
