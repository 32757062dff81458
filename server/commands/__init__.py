"""Every websocket command, registered in one explicit list."""

from __future__ import annotations

from server.commands import annotation, media, meeting, presentation
from server.protocol import Command

REGISTRY: dict[str, Command] = {
    command.name: command
    for command in (*meeting.COMMANDS, *presentation.COMMANDS, *annotation.COMMANDS,
                    *media.COMMANDS)
}
