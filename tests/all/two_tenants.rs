//! Where the access tests of sharing and of the "visible to me" lists
//! start: the first tenant with customers A, A1 below A and B, and another
//! tenant with its customer Z.

use serde_json::{Value, json};

use clientele_tests::{Client, NewTenant, TestServer, customer_ref, id};

pub(crate) struct TwoTenants {
    pub server: TestServer,
    pub admin: Client,
    pub sys: Client,
    /// The first tenant's administrator, as `/api/auth/user` answers.
    pub me: Value,
    pub tenant: String,
    pub a: String,
    pub a1: String,
    pub b: String,
    pub other: NewTenant,
    pub z: String,
}

impl TwoTenants {
    pub async fn build() -> TwoTenants {
        let server = TestServer::start().await;
        let admin = server.tenant_admin().await;
        let sys = server.sysadmin().await;
        let me = admin.get_ok("/api/auth/user").await;
        let tenant = me["tenantId"]["id"].as_str().unwrap().to_owned();
        let a = id(&admin.create_customer("A").await);
        let a1 = id(&admin
            .post_ok(
                "/api/customer",
                json!({"title": "A1", "ownerId": customer_ref(&a)}),
            )
            .await);
        let b = id(&admin.create_customer("B").await);
        let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
        let z = id(&other.client.create_customer("Z").await);
        TwoTenants {
            server,
            admin,
            sys,
            me,
            tenant,
            a,
            a1,
            b,
            other,
            z,
        }
    }
}
