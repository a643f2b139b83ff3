"""Static files as deployed: compressed, with a content hash in every name (whitenoise)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """The member web centre's ES modules import each other by name (`./api.js`). Their
    imports are rewritten to the hashed names too, so a page loaded just after a deploy
    never mixes an old module with a new one (browsers cache the hashed files for a year)."""

    support_js_module_import_aggregation = True
