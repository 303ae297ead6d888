from __future__ import annotations

import click

command = click.Group("audit")
