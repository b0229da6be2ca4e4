"""Command line: `python -m bot run | db upgrade | staff add|role|disable|reset | policies load | nlu export | followups run|serve | telegram set-webhook`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, List, Optional

from bot.roles import ROLE_NAMES, Role

if TYPE_CHECKING:
    from datetime import datetime


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Patient assistant launcher and admin commands")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Rasa, the action server and the console")
    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"], help="upgrade: migrate to the latest revision")
    policy = commands.add_parser("policies", help="the published policies (data/policies/*.yml)")
    policy.add_argument("action", choices=["load"], help="load: make the database match the files; no restart needed")
    staff = commands.add_parser("staff", help="console accounts")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_commands.add_parser("add", help="create a staff account (password prompted, or $STAFF_PASSWORD)")
    add.add_argument("username")
    add.add_argument("--name", help="name shown in the console and to colleagues (default: the username)")
    add.add_argument("--role", choices=ROLE_NAMES, default="agent", help="what the account may do (docs/security.md; default agent)")
    role = staff_commands.add_parser("role", help="give an existing account another role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLE_NAMES)
    disable = staff_commands.add_parser("disable", help="the account can no longer log in; its logins end at once")
    disable.add_argument("username")
    reset = staff_commands.add_parser(
        "reset", help="a new password (one line on standard input, else a random one printed once); enables the account"
    )
    reset.add_argument("username")
    nlu = commands.add_parser("nlu", help="the NLU inbox: patient messages staff reviewed")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    export = nlu_commands.add_parser(
        "export", help="write the confirmed and corrected examples as training data (data/nlu/reviewed.yml)"
    )
    export.add_argument("--out", help="where to write the file (default: data/nlu/reviewed.yml)")
    report = commands.add_parser("report", help="the console's reports (docs/console.md)")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    demo = report_commands.add_parser(
        "seed-demo", help="write a realistic month of demo conversations, handoffs and tickets (replaced on each run)"
    )
    demo.add_argument("--days", type=int, default=30, help="how many days up to today (default 30)")
    demo.add_argument("--seed", type=int, default=1, help="random seed: the same seed writes the same figures")
    week = report_commands.add_parser("weekly", help="the week's summary for management, in Markdown")
    week.add_argument("--week", help="an ISO week, e.g. 2026-W48 (default: the last week that has ended)")
    week.add_argument("--out", help="write the Markdown here instead of printing it")
    incident = report_commands.add_parser("incident", help="the written report on one major-urgent complaint (seed 003)")
    incident.add_argument("ticket", help="the complaint's ticket number")
    incident.add_argument("--out", help="write the Markdown here instead of printing it")
    followups = commands.add_parser("followups", help="what the hospital sends of its own accord (docs/followups.md)")
    followup_commands = followups.add_subparsers(dest="followups_command", required=True)
    run_due = followup_commands.add_parser("run", help="send every follow-up due at that time, once, and exit")
    run_due.add_argument("--now", type=_moment, help="ISO time, e.g. 2026-12-08T10:00 (hospital time unless it has an offset)")
    followup_commands.add_parser("serve", help="the scheduler: send due follow-ups until stopped (python -m bot run starts it)")
    patient = commands.add_parser("patient", help="one patient's data: export (access, PIPL Art. 45) or delete (Art. 47)")
    patient.add_argument("patient_command", choices=("export", "delete"))
    patient.add_argument("--phone", help="the mobile number on the patient's tickets")
    patient.add_argument("--conversation", action="append", default=[], help="a conversation id of the patient")
    patient.add_argument("--out", help="export: write the JSON here instead of printing it")
    patient.add_argument("--yes", action="store_true", help="delete: confirm (it cannot be undone)")
    purge = commands.add_parser("purge", help="delete patient data past its retention period (docs/security.md)")
    purge.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    telegram = commands.add_parser("telegram", help="Telegram channel (TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET)")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    set_webhook = telegram_commands.add_parser("set-webhook", help="tell Telegram where to post updates")
    set_webhook.add_argument("url", help="public HTTPS URL of /webhooks/telegram/webhook on the Rasa server")
    return parser


def _moment(value: str) -> "datetime":
    from datetime import datetime

    from bot import hospital

    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO time: {value!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=hospital.load().timezone)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from bot import launcher

        return launcher.run()
    if args.command == "db":
        from bot.store import migrate

        migrate.upgrade()
        return 0
    if args.command == "policies":
        from bot import policies

        print(policies.load())
        return 0
    if args.command == "staff":
        from bot import staff

        if args.staff_command == "role":
            return staff.role_command(args.username, Role(args.role))
        if args.staff_command == "disable":
            return staff.disable_command(args.username)
        if args.staff_command == "reset":
            return staff.reset_command(args.username)
        return staff.add_command(args.username, args.name, Role(args.role))
    if args.command == "nlu":
        from bot import nlu_export

        return nlu_export.export_command(args.out)
    if args.command == "report":
        from bot import report_demo
        from bot.management import commands as management

        if args.report_command == "weekly":
            return management.weekly_command(args.week, args.out)
        if args.report_command == "incident":
            return management.incident_command(args.ticket, args.out)
        print(report_demo.seed(days=args.days, random_seed=args.seed))
        return 0
    if args.command == "followups":
        from bot.followups import commands as followup_commands

        return followup_commands.main(args.followups_command, getattr(args, "now", None))
    if args.command == "patient":
        from bot import patient_data

        return patient_data.command(args.patient_command, args.phone, args.conversation, args.out, args.yes)
    if args.command == "purge":
        from bot import retention

        return retention.command(args.dry_run)
    if args.command == "telegram":
        from bot.channels import telegram

        return telegram.set_webhook_command(args.url)
    return 2


if __name__ == "__main__":
    sys.exit(main())
