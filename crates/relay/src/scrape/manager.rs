//! Keeps the scrape loops in step with the configuration and with discovery: one pool per job,
//! one loop per target. A target that disappears (discovery, relabeling, reload) is stopped with
//! staleness markers for its series; a job whose config changed restarts its loops.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::target::{Populated, Target, targets_from_group};
use super::{JobSettings, LoopHandle, spawn_loop};
use crate::config::{Config, GlobalConfig, ScrapeConfig};
use crate::discovery::{DiscoveryOptions, DiscoveryUpdate, TargetGroup, spawn_providers};
use crate::hub::Hub;

/// Handle to the task that owns every scrape pool.
#[derive(Debug, Clone)]
pub struct ScrapeManager {
    tx: mpsc::UnboundedSender<(Config, oneshot::Sender<()>)>,
}

struct Pool {
    cfg: ScrapeConfig,
    settings: Arc<JobSettings>,
    /// Groups by provider index.
    groups: BTreeMap<usize, Vec<TargetGroup>>,
    loops: HashMap<u64, LoopHandle>,
    /// The settings loops run with now (differs from `settings` while target_limit is breached).
    running: Arc<JobSettings>,
}

impl ScrapeManager {
    /// Starts the manager task; nothing is scraped until [`ScrapeManager::apply`].
    pub fn start(hub: Arc<Hub>, discovery: DiscoveryOptions) -> (ScrapeManager, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(hub, rx, discovery));
        (ScrapeManager { tx }, task)
    }

    /// Switches to `config` (already validated); returns once pools and discovery are started.
    pub async fn apply(&self, config: Config) {
        let (done, wait) = oneshot::channel();
        if self.tx.send((config, done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    hub: Arc<Hub>,
    mut configs: mpsc::UnboundedReceiver<(Config, oneshot::Sender<()>)>,
    discovery: DiscoveryOptions,
) {
    let (dtx, mut updates) = mpsc::unbounded_channel::<DiscoveryUpdate>();
    let mut generation = 0u64;
    let mut pools: BTreeMap<String, Pool> = BTreeMap::new();
    let mut global = GlobalConfig::default();
    let mut sd_tasks: Vec<JoinHandle<()>> = Vec::new();
    loop {
        tokio::select! {
            cmd = configs.recv() => {
                let Some((config, done)) = cmd else { break };
                generation += 1;
                for t in sd_tasks.drain(..) {
                    t.abort();
                }
                let global_changed = config.global != global;
                global = config.global.clone();
                let wanted: HashMap<&str, &ScrapeConfig> = config
                    .scrape_configs
                    .iter()
                    .map(|c| (c.job_name.as_str(), c))
                    .collect();
                let names: Vec<String> = pools.keys().cloned().collect();
                for name in names {
                    let keep = !global_changed
                        && wanted.get(name.as_str()).is_some_and(|c| **c == pools[&name].cfg);
                    if keep {
                        continue;
                    }
                    let Some(pool) = pools.remove(&name) else { continue };
                    // A removed job's targets went away; a changed job's restart at once.
                    let gone = !wanted.contains_key(name.as_str());
                    for (_, l) in pool.loops {
                        l.stop(gone);
                    }
                    hub.set_dropped(&name, Vec::new());
                }
                for cfg in &config.scrape_configs {
                    if !pools.contains_key(&cfg.job_name) {
                        let settings = Arc::new(JobSettings::new(cfg, &global));
                        pools.insert(cfg.job_name.clone(), Pool {
                            cfg: cfg.clone(),
                            running: settings.clone(),
                            settings,
                            groups: BTreeMap::new(),
                            loops: HashMap::new(),
                        });
                    }
                    sd_tasks.extend(spawn_providers(cfg, generation, &dtx, &discovery));
                }
                let _ = done.send(());
            }
            Some(u) = updates.recv() => {
                if u.generation != generation {
                    continue;
                }
                let Some(pool) = pools.get_mut(&u.job) else { continue };
                pool.groups.insert(u.provider, u.groups);
                sync(&hub, pool, &global);
            }
        }
    }
    for t in sd_tasks {
        t.abort();
    }
    for (_, pool) in pools {
        for (_, l) in pool.loops {
            l.abort();
        }
    }
}

/// Recomputes a pool's targets from its groups and starts or stops loops to match.
fn sync(hub: &Arc<Hub>, pool: &mut Pool, global: &GlobalConfig) {
    let mut active: Vec<Target> = Vec::new();
    let mut dropped = Vec::new();
    let mut errors = Vec::new();
    for groups in pool.groups.values() {
        for g in groups {
            for p in targets_from_group(g, &pool.cfg, global, &mut errors) {
                match p {
                    Populated::Active(t) => {
                        if !active.iter().any(|a| a.key == t.key) {
                            active.push(t);
                        }
                    }
                    Populated::Dropped(d) => dropped.push(d),
                }
            }
        }
    }
    for e in errors {
        tracing::error!("job {}: creating target failed: {e}", pool.cfg.job_name);
    }
    hub.set_dropped(&pool.cfg.job_name, dropped);
    let limit = pool.settings.rules.limits.target_limit;
    let wanted = if limit > 0 && active.len() as u64 > limit {
        let mut s = (*pool.settings).clone();
        s.forced_error = Some(format!(
            "target_limit exceeded (number of targets: {}, limit: {limit})",
            active.len()
        ));
        Arc::new(s)
    } else {
        pool.settings.clone()
    };
    if wanted.forced_error != pool.running.forced_error {
        // Entering or leaving the breached state: every loop restarts with the new settings.
        for (_, l) in pool.loops.drain() {
            l.stop(false);
        }
        pool.running = wanted;
    }
    let keys: HashMap<u64, ()> = active.iter().map(|t| (t.key, ())).collect();
    let gone: Vec<u64> = pool
        .loops
        .keys()
        .filter(|k| !keys.contains_key(k))
        .copied()
        .collect();
    for k in gone {
        if let Some(l) = pool.loops.remove(&k) {
            l.stop(true);
        }
    }
    for t in active {
        if !pool.loops.contains_key(&t.key) {
            let key = t.key;
            pool.loops
                .insert(key, spawn_loop(hub.clone(), t, pool.running.clone()));
        }
    }
}
