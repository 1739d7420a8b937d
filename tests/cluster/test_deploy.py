"""The Docker files describe the same topology as ``botify cluster up`` (no Docker engine here: structure only)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from click.testing import CliRunner

from botify.cli import main
from botify.cluster.topology import nginx_config

DEPLOY = Path(__file__).parent.parent.parent / "deploy"


def directives(text: str) -> set[str]:
    """Nginx directives that matter for the topology, whitespace-normalised."""
    keep = ("keepalive", "proxy_next_upstream", "proxy_http_version", "proxy_set_header", "client_max_body_size",
            "proxy_connect_timeout", "proxy_read_timeout", "max_fails")
    lines = {re.sub(r"server \S+", "server UPSTREAM", " ".join(line.split())) for line in text.splitlines()}
    return {line for line in lines if line.startswith(keep) or "max_fails" in line}


class TestDeploy:
    def test_compose_has_nginx_scalable_replicas_and_redis(self) -> None:
        compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
        services = compose["services"]
        assert set(services) == {"nginx", "recommender", "redis"}
        replica = services["recommender"]
        assert "ports" not in replica  # published ports would stop `--scale recommender=N`
        assert "redis://redis:6379/0" in replica["command"] and "redis" in replica["depends_on"]
        assert services["nginx"]["ports"] == ["5001:5001"]
        assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]

    def test_nginx_settings_match_the_native_cluster(self, tmp_path: Path) -> None:
        native = directives(nginx_config(tmp_path, 5001, [7001, 7002]))
        docker = directives((DEPLOY / "nginx.conf").read_text())
        assert native == docker

    def test_replica_command_uses_real_serve_options(self) -> None:
        help_text = CliRunner().invoke(main, ["serve", "--help"]).output
        compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
        dockerfile = (DEPLOY / "Dockerfile").read_text()
        for command in (compose["services"]["recommender"]["command"], re.findall(r'"(--[a-z-]+)"', dockerfile)):
            for option in (word for word in command if word.startswith("--")):
                assert option in help_text, option
