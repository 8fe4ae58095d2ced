//! First start on an empty store: the installation secret, the system
//! administrator, one tenant and its administrator, in one transaction.

use serde_json::json;

use crate::auth::{password, tokens};
use crate::config::Settings;
use crate::domain::audit::ActionType;
use crate::domain::ids::{CustomerId, TenantId, now_ms};
use crate::domain::tenant::{Tenant, TenantInput};
use crate::domain::user::{Authority, Credentials, User, UserInput};
use crate::domain::validate::check_email;
use crate::store::{self, Changes, Store, meta, tenants, users};

use super::audit::{self as audit_record, Actor};
use super::{ServiceError, ServiceResult};

/// What the first start created; passwords are present only when generated.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub tenant_id: TenantId,
    pub sysadmin_email: String,
    pub generated_sysadmin_password: Option<String>,
    pub tenant_admin_email: String,
    pub generated_tenant_admin_password: Option<String>,
}

/// A strong password that meets any sensible policy: 32 random URL-safe
/// characters plus one of each class.
fn generate_password() -> String {
    format!("{}Aa1!", &tokens::new_token()[..32])
}

pub async fn ensure(settings: &Settings, store: &dyn Store) -> ServiceResult<Option<FirstStart>> {
    if meta::get(&*store.snapshot()?, meta::BOOTSTRAPPED)?.is_some() {
        return Ok(None);
    }
    let sys_email = settings.sysadmin_email.trim().to_lowercase();
    let admin_email = settings.tenant_admin_email.trim().to_lowercase();
    check_email(&sys_email).map_err(|e| ServiceError::invalid(format!("sysadmin_email: {e}")))?;
    check_email(&admin_email)
        .map_err(|e| ServiceError::invalid(format!("tenant_admin_email: {e}")))?;
    if sys_email == admin_email {
        return Err(ServiceError::invalid(
            "sysadmin_email and tenant_admin_email must differ",
        ));
    }
    let policy = &settings.security.password_policy;
    let mut chosen = Vec::new();
    for (name, given) in [
        ("sysadmin_password", &settings.sysadmin_password),
        ("tenant_admin_password", &settings.tenant_admin_password),
    ] {
        match given {
            Some(p) => {
                policy
                    .check(p)
                    .map_err(|e| ServiceError::invalid(format!("{name}: {e}")))?;
                chosen.push((p.clone(), false));
            }
            None => chosen.push((generate_password(), true)),
        }
    }
    let (sys_pw, admin_pw) = (chosen[0].clone(), chosen[1].clone());
    let (sys_hash, admin_hash) = {
        let (a, b) = (sys_pw.0.clone(), admin_pw.0.clone());
        tokio::task::spawn_blocking(move || {
            Ok::<_, String>((password::hash(&a)?, password::hash(&b)?))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(ServiceError::Internal)?
    };
    let now = now_ms();
    let tenant = Tenant::create(
        TenantInput {
            title: Some(settings.tenant_title.clone()),
            ..Default::default()
        },
        now,
    );
    let sysadmin = User::create(
        TenantId::NULL,
        CustomerId::NULL,
        Authority::SysAdmin,
        sys_email.clone(),
        UserInput::default(),
        now,
    );
    let admin = User::create(
        tenant.id,
        CustomerId::NULL,
        Authority::TenantAdmin,
        admin_email.clone(),
        UserInput::default(),
        now,
    );
    let first = FirstStart {
        tenant_id: tenant.id,
        sysadmin_email: sys_email,
        generated_sysadmin_password: sys_pw.1.then_some(sys_pw.0),
        tenant_admin_email: admin_email,
        generated_tenant_admin_password: admin_pw.1.then_some(admin_pw.0),
    };
    store::write::<_, ServiceError, _>(store, move |view| {
        // Two processes racing on one empty file: the second one finds it done.
        if meta::get(view, meta::BOOTSTRAPPED)?.is_some() {
            return Ok((None, Changes::new()));
        }
        let mut changes = Changes::new();
        meta::put(&mut changes, meta::JWT_SECRET, tokens::random_bytes(64));
        meta::put(&mut changes, meta::BOOTSTRAPPED, now.to_be_bytes().to_vec());
        tenants::put(&mut changes, &tenant);
        for (user, hash) in [(&sysadmin, sys_hash), (&admin, admin_hash)] {
            users::put(&mut changes, None, user);
            let creds = Credentials {
                enabled: true,
                password_hash: Some(hash),
                ..Default::default()
            };
            users::put_credentials(&mut changes, user, None, &creds);
        }
        let actor = Actor {
            tenant: tenant.id,
            customer: CustomerId::NULL,
            user: sysadmin.id,
            name: sysadmin.email.clone(),
        };
        let log = audit_record::record(
            &actor,
            CustomerId::NULL,
            Some((tenant.id.entity_id(), &tenant.title)),
            ActionType::Added,
            json!({ "entity": tenant }),
        );
        store::audit_log::append(&mut changes, &log);
        Ok((Some(first), changes))
    })
    .await
}
