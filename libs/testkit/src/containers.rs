//! The backing services the test kit starts with testcontainers when no `TEST_*_URL` names one.
//!
//! - Images: the ones `compose.yaml` names for its `postgres`, `redis` and `localstack`
//!   services — the one place their versions are written — read at compile time, so the tests,
//!   `docker compose up` and (checked by a test below) production run the same majors.
//! - Ports are published on 127.0.0.1 only, never on every interface.
//! - Every container is labelled `docket.testkit=1` (and `docket.testkit.run=$DOCKET_TESTKIT_RUN`
//!   when that is set, as `scripts/test --containers` does) and removed when the test binary
//!   exits, also when tests failed. Containers are held in statics, which Rust never drops, so
//!   the removal runs from an `atexit` hook; a binary that is killed leaves them behind, and
//!   the label is how a script finds them.
//! - Works against Docker's API 1.41 (Debian's engine 20.10) and later.

use std::{collections::HashMap, sync::Mutex};

use testcontainers::{
    ContainerAsync, ContainerRequest, Image, ImageExt as _,
    bollard::models::{HostConfig, PortBinding},
    runners::AsyncRunner as _,
};

const COMPOSE_YAML: &str = include_str!("../../../compose.yaml");

/// `(name, tag)` of the image `compose.yaml` gives `repository` (e.g. `"postgres"`).
pub fn pinned_image(repository: &str) -> (&'static str, &'static str) {
    images_in(COMPOSE_YAML)
        .find(|(name, _)| *name == repository)
        .unwrap_or_else(|| panic!("compose.yaml names no {repository}:<tag> image"))
}

/// Every `image: name:tag` line of a compose file.
fn images_in(yaml: &str) -> impl Iterator<Item = (&str, &str)> {
    yaml.lines().filter_map(|line| {
        let value = line.trim().strip_prefix("image:")?.trim().trim_matches('"');
        value.rsplit_once(':')
    })
}

/// Starts `image` under compose's name and tag for `repository`, with `port` published on
/// 127.0.0.1; returns the container and the host port.
pub async fn start<I: Image>(
    request: impl Into<ContainerRequest<I>>,
    repository: &str,
    port: u16,
) -> (ContainerAsync<I>, u16) {
    let (name, tag) = pinned_image(repository);
    let mut request = request
        .into()
        .with_name(name)
        .with_tag(tag)
        .with_label("docket.testkit", "1")
        .with_host_config_modifier(move |host: &mut HostConfig| {
            host.publish_all_ports = Some(false);
            host.port_bindings = Some(HashMap::from([(
                format!("{port}/tcp"),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: None,
                }]),
            )]));
        });
    if let Ok(run) = std::env::var("DOCKET_TESTKIT_RUN") {
        request = request.with_label("docket.testkit.run", run);
    }
    let container = request.start().await.unwrap_or_else(|e| {
        panic!("{name}:{tag} could not be started with Docker (no TEST_*_URL set): {e}")
    });
    remove_at_exit(container.id());
    let host_port = container
        .get_host_port_ipv4(port)
        .await
        .unwrap_or_else(|e| panic!("{name}:{tag}: no host port for {port}: {e}"));
    (container, host_port)
}

static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Removes the container (and its anonymous volumes) when the process exits.
fn remove_at_exit(id: &str) {
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if started.is_empty() {
        register_atexit();
    }
    started.push(id.to_owned());
}

#[allow(unsafe_code)]
fn register_atexit() {
    extern "C" fn at_exit() {
        let ids = std::mem::take(&mut *STARTED.lock().unwrap_or_else(|e| e.into_inner()));
        remove_now(&ids);
    }
    // SAFETY: `at_exit` is a plain function with C linkage; it only takes the list and makes
    // blocking calls to the Docker API on a runtime of its own.
    unsafe { libc::atexit(at_exit) };
}

/// Removes the containers, forced, with their volumes. Best effort: this runs at exit, where
/// a panic would only hide the tests' own result.
fn remove_now(ids: &[String]) {
    use testcontainers::bollard::{Docker, query_parameters::RemoveContainerOptions};
    if ids.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        let Ok(docker) = Docker::connect_with_defaults() else {
            eprintln!("testkit: no Docker client to remove containers {ids:?}");
            return;
        };
        for id in ids {
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            if let Err(e) = docker.remove_container(id, Some(options)).await {
                // Already gone (a test removed its own) is fine.
                if !e.to_string().contains("No such container") {
                    eprintln!("testkit: could not remove container {id}: {e}");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn major(tag: &str) -> &str {
        tag.split(['.', '-']).next().unwrap_or_default()
    }

    /// The value of the first `key: value` line after `after` in a CloudFormation template.
    fn cfn_value<'a>(yaml: &'a str, after: &str, key: &str) -> &'a str {
        let start = yaml.find(after).unwrap_or_else(|| panic!("no {after}"));
        yaml[start..]
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} after {after}"))
            .trim()
            .trim_matches('"')
    }

    #[test]
    fn compose_names_a_tag_for_each_backing_service() {
        assert_eq!(major(pinned_image("postgres").1), "16");
        assert_eq!(major(pinned_image("redis").1), "7");
        // A release after 4.14.0 refuses to start without LOCALSTACK_AUTH_TOKEN.
        assert_eq!(pinned_image("localstack/localstack").1, "4.14.0");
    }

    #[test]
    fn the_pinned_images_have_the_majors_production_runs() {
        let data = include_str!("../../../ecs/data.yaml");
        let postgres = cfn_value(data, "PostgresEngineVersion:", "Default:");
        let redis = cfn_value(data, "Engine: redis", "EngineVersion:");
        assert_eq!(major(postgres), major(pinned_image("postgres").1), "RDS");
        assert_eq!(major(redis), major(pinned_image("redis").1), "ElastiCache");
    }

    #[test]
    fn image_lines_are_read_with_or_without_quotes() {
        let yaml = "  a:\n    image: postgres:16-bookworm\n  b:\n    image: \"x/y:1.2\"\n";
        let found: Vec<_> = images_in(yaml).collect();
        assert_eq!(found, [("postgres", "16-bookworm"), ("x/y", "1.2")]);
    }
}
