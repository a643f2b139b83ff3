"""Static files as deployed: the member web centre's modules import each other's hashed
names, so a page loaded just after a deploy never mixes old and new modules."""

import re

from django.core.management import call_command
from django.test.utils import override_settings

DEPLOYED = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "apps.core.staticfiles.StaticFilesStorage"},
}


def test_a_modules_imports_name_the_hashed_files(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=DEPLOYED):
        call_command("collectstatic", "--noinput", verbosity=0)

    (card,) = (tmp_path / "m" / "js").glob("card.*[0-9a-f].js")
    imports = re.findall(r'from "\./([^"]+)"', card.read_text(encoding="utf-8"))
    assert imports and all(re.fullmatch(r"[a-z0-9_]+\.[0-9a-f]{12}\.js", name) for name in imports)
    for name in imports:
        assert (tmp_path / "m" / "js" / name).exists()
