//! The `clientele` binary: `clientele [serve] [--config FILE]`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use clientele::config::Settings;
use clientele::service::{App, FirstStart};
use clientele::store::RedbStore;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: glibc keeps a free-list arena per
/// thread that ever allocated (tokio workers, blocking threads), which held
/// ~30 MiB of freed memory after a burst in the ingest benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Customer management for IoT tenants, on the edge")]
struct Cli {
    /// TOML settings file; CLIENTELE_* environment variables override it.
    #[arg(long, global = true, env = "CLIENTELE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the service (the default).
    Serve,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let settings = Settings::load(cli.config.as_deref()).context("reading settings")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve(settings)),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    let db_path = settings.db_path();
    let store = Arc::new(
        RedbStore::open_with_cache(&db_path, settings.store_cache_mib.max(1) * 1024 * 1024)
            .with_context(|| format!("opening {}", db_path.display()))?,
    );
    let (addr, mqtt_addr) = (settings.http_addr, settings.mqtt_addr);
    let (app, first_start) = App::open(settings, store.clone())
        .await
        .context("starting")?;
    if let Some(first) = first_start {
        announce(&first);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding HTTP to {addr}"))?;
    let mqtt = tokio::net::TcpListener::bind(mqtt_addr)
        .await
        .with_context(|| format!("binding MQTT to {mqtt_addr}"))?;
    tracing::info!(%addr, %mqtt_addr, db = %db_path.display(), "Clientele is serving");
    clientele::server::run(listener, mqtt, app, clientele::server::shutdown_signal()).await?;
    store.close();
    Ok(())
}

/// Prints the first start's accounts once; generated passwords are shown
/// only here and never stored in plain text.
fn announce(first: &FirstStart) {
    println!(
        "First start: created the system administrator and tenant {}.",
        first.tenant_id
    );
    for (role, email, generated) in [
        (
            "system administrator",
            &first.sysadmin_email,
            &first.generated_sysadmin_password,
        ),
        (
            "tenant administrator",
            &first.tenant_admin_email,
            &first.generated_tenant_admin_password,
        ),
    ] {
        match generated {
            Some(password) => {
                println!("  {role}: {email}  password: {password}  (generated; shown once)")
            }
            None => println!("  {role}: {email}  (password from configuration)"),
        }
    }
}
