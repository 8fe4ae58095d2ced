//! The cost of the Professional Edition permission model in a tenant of
//! 10,000 customers nested 6 levels deep, in process over a redb store in
//! a temporary directory:
//!
//! - a permission check (`auth::permissions::allowed`) of a customer
//!   administrator of a top-level customer, on a customer 5 levels below
//!   it (granted) and on one in another branch (refused): each walks the
//!   tree up from the target;
//! - loading a customer user's rights (its groups, their grants and
//!   roles), which every request of a customer user does;
//! - listing the customers visible to a user (`GET /api/customers`, the
//!   first page of 20 by title): the top-level customer administrator
//!   (its subtree), a user 3 levels down, and the tenant administrator (all).
//!
//! `cargo bench -p clientele --bench permissions` (`CUSTOMERS=2000` for a
//! smaller tree). Plain timing with `std::time::Instant`, one sample per
//! call. Target (issue 3): a check and a listing under 1 ms p99.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use clientele::auth::Caller;
use clientele::auth::permissions::{Operation, Resource, Target, allowed};
use clientele::config::Settings;
use clientele::domain::customer::CustomerInput;
use clientele::domain::entity_group::{CUSTOMER_ADMINISTRATORS, GroupType};
use clientele::domain::ids::CustomerId;
use clientele::domain::page::PageLink;
use clientele::domain::user::{Authority, User, UserInput};
use clientele::service::{ActivationMail, App, NameConflict};
use clientele::store::RedbStore;

/// The service's allocator (see `src/main.rs`), so that rights are loaded
/// and lists built here as they are in the service.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LEVELS: usize = 6;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p50 and p99 of `samples` (nanoseconds), in microseconds.
fn percentiles(mut samples: Vec<u64>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    (at(0.50), at(0.99))
}

fn report(what: &str, samples: Vec<u64>) {
    let n = samples.len();
    let (p50, p99) = percentiles(samples);
    let verdict = if p99 < 1000.0 { "under" } else { "OVER" };
    println!("{what}: p50 {p50:.2} µs, p99 {p99:.2} µs over {n} calls ({verdict} 1 ms)");
}

/// How many customers each level holds: 0.1%, 0.4%, 1.5%, 8%, 20%, 70%.
fn level_sizes(total: usize) -> [usize; LEVELS] {
    let shares = [1, 4, 15, 80, 200];
    let mut sizes = [0; LEVELS];
    for (size, share) in sizes.iter_mut().zip(shares) {
        *size = (total * share / 1000).max(2);
    }
    sizes[LEVELS - 1] = total - sizes[..LEVELS - 1].iter().sum::<usize>();
    sizes
}

/// Builds the tree level by level; returns the customers of each level.
/// Customer `i` of a level hangs under customer `i % n` of the level above.
async fn build_tree(app: &App, admin: &Caller, total: usize) -> Vec<Vec<CustomerId>> {
    let mut levels: Vec<Vec<CustomerId>> = Vec::new();
    for (depth, size) in level_sizes(total).into_iter().enumerate() {
        let mut level = Vec::with_capacity(size);
        for i in 0..size {
            let parent = levels.last().map(|above| above[i % above.len()]);
            let input = CustomerInput {
                title: Some(format!("L{depth}-{i:05}")),
                parent_customer_id: parent,
                ..Default::default()
            };
            let c = app
                .save_customer(admin, input, NameConflict::Fail)
                .await
                .expect("customer");
            level.push(c.id);
        }
        levels.push(level);
    }
    levels
}

async fn user_of(
    app: &App,
    admin: &Caller,
    customer: CustomerId,
    email: &str,
    admin_group: bool,
) -> User {
    let entity_groups = if admin_group {
        let group = app
            .entity_group_by_name(
                admin,
                Some(customer.entity_id()),
                GroupType::User,
                CUSTOMER_ADMINISTRATORS,
            )
            .await
            .expect("group");
        vec![group.group.id]
    } else {
        Vec::new()
    };
    let input = UserInput {
        email: Some(email.into()),
        authority: Some(Authority::CustomerUser),
        customer_id: Some(customer),
        entity_groups,
        ..Default::default()
    };
    app.save_user(admin, input, ActivationMail::DontSend)
        .await
        .expect("user")
}

/// Times `f` once per call, `n` calls after `n / 10` warm-up calls.
fn sample(n: usize, mut f: impl FnMut()) -> Vec<u64> {
    for _ in 0..n / 10 {
        f();
    }
    (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_nanos() as u64
        })
        .collect()
}

async fn sample_async<F, Fut>(n: usize, mut f: F) -> Vec<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n / 10 {
        f().await;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        f().await;
        out.push(start.elapsed().as_nanos() as u64);
    }
    out
}

#[tokio::main]
async fn main() {
    let total = env_or("CUSTOMERS", 10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        sysadmin_password: Some("Sys-pass-1".into()),
        tenant_admin_password: Some("Admin-pass-1".into()),
        ..Settings::default()
    };
    let store = Arc::new(RedbStore::open(&dir.path().join("bench.redb")).expect("store"));
    let (app, first) = App::open(settings, store).await.expect("app");
    let first = first.expect("first start");
    let pair = app
        .login(
            &first.tenant_admin_email,
            "Admin-pass-1",
            Default::default(),
        )
        .await
        .expect("login");
    let admin = app.authenticate(&pair.token).expect("admin");

    let started = Instant::now();
    let levels = build_tree(&app, &admin, total).await;
    println!(
        "tree: {total} customers, levels of {:?}, built in {:.1} s",
        levels.iter().map(Vec::len).collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    let top = levels[0][0];
    let boss_user = user_of(&app, &admin, top, "boss@top.io", true).await;
    let boss = app.caller(&boss_user).expect("boss");
    // A leaf 5 levels below `top`, and one in another branch.
    let leaves = &levels[LEVELS - 1];
    let below = |c: CustomerId| {
        let t = Target::customer(admin.tenant_id, c);
        allowed(&boss, Resource::Customer, Operation::Read, &t)
    };
    let mine = *leaves
        .iter()
        .find(|c| below(**c))
        .expect("a leaf under top");
    let theirs = *leaves
        .iter()
        .find(|c| !below(**c))
        .expect("a leaf elsewhere");
    let tenant = admin.tenant_id;

    let granted = Target::customer(tenant, mine);
    let refused = Target::customer(tenant, theirs);
    assert!(allowed(&boss, Resource::Device, Operation::Write, &granted));
    assert!(!allowed(
        &boss,
        Resource::Device,
        Operation::Write,
        &refused
    ));
    report(
        "permission check, granted (5 levels down)",
        sample(200_000, || {
            black_box(allowed(
                &boss,
                Resource::Device,
                Operation::Write,
                black_box(&granted),
            ));
        }),
    );
    report(
        "permission check, refused (other branch)",
        sample(200_000, || {
            black_box(allowed(
                &boss,
                Resource::Device,
                Operation::Write,
                black_box(&refused),
            ));
        }),
    );
    report(
        "loading a customer user's rights (per request)",
        sample(20_000, || {
            black_box(app.caller(&boss_user).expect("rights"));
        }),
    );

    let link = PageLink::parse(Some("20"), Some("0"), None, Some("title"), None).expect("link");
    let mid_user = user_of(&app, &admin, levels[2][0], "mid@mid.io", false).await;
    let mid = app.caller(&mid_user).expect("mid");
    for (who, caller) in [
        ("top-level customer administrator", &boss),
        ("customer user 3 levels down", &mid),
        ("tenant administrator", &admin),
    ] {
        let visible = app.customers(caller, link.clone()).await.expect("list");
        let samples = sample_async(2_000, || async {
            black_box(app.customers(caller, link.clone()).await.expect("list"));
        })
        .await;
        report(
            &format!(
                "listing visible customers, {who} ({} visible)",
                visible.total_elements
            ),
            samples,
        );
    }
}
