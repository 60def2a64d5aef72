#!/usr/bin/env python
"""The stock ``manage.py`` Django generates."""

import os
import sys


def main() -> None:
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", "tests.sdk.autoinstrument_app.django_plain.settings"
    )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
