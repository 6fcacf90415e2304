//! `signpost`: serve (the default), migrate, and manage content.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use signpost::{Clock, Settings};

#[derive(Parser)]
#[command(name = "signpost", version, about = "Signpost backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Run database migrations and exit.
    Migrate,
    /// Manage the content directory.
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
}

#[derive(Subcommand)]
enum ContentCommand {
    /// Load `content/` into the database (idempotent). Exits 1 if any file had an error.
    Sync,
    /// Write a synthetic directory (for tests and benchmarks, never shipped).
    Synth {
        #[arg(long, default_value_t = 10_000)]
        services: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// A new content directory to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNPOST_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let state = signpost::prepare(settings, Clock::system()).await?;
            let server = signpost::start(state, signpost::shutdown_signal()).await?;
            tracing::info!("Signpost listening on {}", server.url());
            server.wait().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let db = signpost::db::connect(&settings).await?;
            signpost::db::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Content {
            command: ContentCommand::Sync,
        } => {
            let gazetteer = signpost::geo::Gazetteer::load_cached(&settings.content_dir)?;
            let db = signpost::db::connect(&settings).await?;
            signpost::db::migrate(&db).await?;
            let report =
                signpost::content::sync(&db, &gazetteer, &settings.content_dir, chrono::Utc::now())
                    .await?;
            signpost::log_sync(&report);
            for e in &report.errors {
                eprintln!("{e}");
            }
            Ok(if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Content {
            command:
                ContentCommand::Synth {
                    services,
                    seed,
                    out,
                },
        } => {
            let gazetteer = signpost::geo::Gazetteer::load_cached(&settings.content_dir)?;
            signpost::synthetic::write_content_dir(
                &settings.content_dir,
                &out,
                services,
                seed,
                &gazetteer,
            )?;
            tracing::info!(services, seed, out = %out.display(), "synthetic content written");
            Ok(ExitCode::SUCCESS)
        }
    }
}
