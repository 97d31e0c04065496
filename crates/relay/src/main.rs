//! The `lookout` binary: parses the command line and runs a relay.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use lookout_relay::{Relay, RelayConfig, ScrapeTarget};

const USAGE: &str = "\
lookout — scrape Prometheus /metrics targets and stream them to Lookout pages

USAGE:
    lookout [OPTIONS]
    lookout tail [--relay URL] [--token T] 'SELECTOR'   (see lookout tail --help)

OPTIONS:
    --listen ADDR            address for the app, API and WebSocket [default: 127.0.0.1:8420]
    --config FILE            a Prometheus config file (global, scrape_configs); reloaded on
                             SIGHUP and POST /-/reload
    --target [JOB=]URL       scrape this target (repeatable); without any, and without
                             --config, runs the demo fleet
    --demo                   also run the demo fleet when targets are given
    --demo-replicas N        run N instances of each demo service (46: about 10k series)
    --scrape-interval DUR    how often to scrape, e.g. 15s, 500ms [default: 15s]
    --retention DUR          how much recent data to keep for pages [default: 3h]
    --dist DIR               directory of the built app to serve [default: dist if present]
    --allow-origin ORIGIN    pages from this origin may connect besides the relay's own
                             (repeatable; * allows any)
    --embed-origin ORIGIN    pages of this origin (https://host[:port]) may embed panels: frame
                             /embed, load embed.js and open the stream (repeatable; * any)
    --dns-server ADDR        DNS server (IP:PORT) for dns_sd_configs, instead of the
                             system's /etc/resolv.conf (repeatable)
    --token-file FILE        pages must present one of the tokens in FILE (one per line);
                             tokens are never taken on the command line, where ps shows them.
                             `TOKEN dashboards=uid,uid` scopes a token to those dashboards:
                             it reads only the series their queries select
    --dashboards DIR         provision the dashboards in DIR (*.json, the page's model with a
                             uid each): served at /api/v1/dashboards, and what scoped tokens
                             may read
    -h, --help               print this help
";

fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("invalid duration {s:?}"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => bail!("invalid duration {s:?}: use a number followed by ms, s, m or h"),
    })
}

fn parse_args() -> anyhow::Result<RelayConfig> {
    let mut cfg = RelayConfig::default();
    let mut demo = false;
    // Read after every flag: scoped tokens name dashboards from --dashboards.
    let (mut token_file, mut dashboards) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => {
                cfg.listen = value("--listen")?
                    .parse::<SocketAddr>()
                    .context("--listen: expected HOST:PORT")?
            }
            "--target" => cfg
                .targets
                .push(ScrapeTarget::parse_flag(&value("--target")?).map_err(anyhow::Error::msg)?),
            "--demo" => demo = true,
            "--demo-replicas" => {
                demo = true;
                cfg.demo_replicas = value("--demo-replicas")?
                    .parse()
                    .context("--demo-replicas: expected a number")?;
            }
            "--config" => cfg.config_file = Some(PathBuf::from(value("--config")?)),
            "--scrape-interval" => {
                cfg.scrape_interval = parse_duration(&value("--scrape-interval")?)?
            }
            "--retention" => cfg.retention = parse_duration(&value("--retention")?)?,
            "--dist" => cfg.dist = Some(PathBuf::from(value("--dist")?)),
            "--dns-server" => cfg.dns_servers.push(
                value("--dns-server")?
                    .parse::<SocketAddr>()
                    .context("--dns-server: expected IP:PORT")?,
            ),
            "--allow-origin" => cfg.stream.allowed_origins.push(value("--allow-origin")?),
            "--embed-origin" => cfg.embed_origins.push(value("--embed-origin")?),
            "--token-file" => {
                let file = value("--token-file")?;
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read --token-file {file}"))?;
                token_file = Some((file, text));
            }
            "--dashboards" => dashboards = Some(PathBuf::from(value("--dashboards")?)),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if let Some(dir) = dashboards {
        cfg.stream.dashboards = lookout_relay::dashboards::load_dir(&dir)?;
    }
    if let Some((file, text)) = token_file {
        cfg.stream.tokens =
            lookout_relay::dashboards::parse_tokens(&text, &file, &cfg.stream.dashboards)?;
    }
    cfg.demo = demo || (cfg.targets.is_empty() && cfg.config_file.is_none());
    cfg.scrape_timeout = cfg.scrape_timeout.min(cfg.scrape_interval);
    if cfg.dist.is_none() && PathBuf::from("dist/index.html").exists() {
        cfg.dist = Some(PathBuf::from("dist"));
    }
    Ok(cfg)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if std::env::args().nth(1).as_deref() == Some("tail") {
        let args = lookout_relay::tail::TailArgs::parse(std::env::args().skip(2))?;
        return lookout_relay::tail::run(args).await;
    }
    let cfg = parse_args()?;
    let demo = cfg.demo;
    let relay = Relay::start(cfg).await?;
    if demo {
        println!("Lookout relay running the demo fleet.");
    }
    println!("Open http://{}/", relay.local_addr());
    tokio::select! {
        _ = relay.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
