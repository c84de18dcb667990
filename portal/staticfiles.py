"""The production storage of static files: the portal's own scripts minified, then hashed and
compressed as WhiteNoise does for every file.

The repository keeps the scripts readable (and DEBUG serves them so); ``collectstatic`` writes
each minified copy before it is hashed, so the hashed name, the manifest and the gzip copy all
describe what customers download. rjsmin only drops comments and whitespace:
it renames nothing and adds no ``eval``, so the scripts behave as written under the CSP.
"""

from django.core.files.base import ContentFile
from rjsmin import jsmin
from whitenoise.storage import CompressedManifestStaticFilesStorage


class MinifiedManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    # The portal's own scripts (static/tickets/). Vendored libraries ship minified already, and
    # Django's and the other apps' scripts are theirs to ship.
    minified_prefixes = ("tickets/",)

    def minifies(self, name: str) -> bool:
        return (
            name.startswith(self.minified_prefixes)
            and name.endswith(".js")
            and not name.endswith(".min.js")
        )

    def post_process(self, paths, dry_run=False, **options):
        if not dry_run:
            paths = dict(paths)
            for name, (source, source_path) in list(paths.items()):
                if not self.minifies(name):
                    continue
                with source.open(source_path) as original:
                    minified = jsmin(original.read().decode("utf-8"), keep_bang_comments=True)
                # The collected copy becomes the minified one, and the hashing below reads it.
                if self.exists(name):
                    self.delete(name)
                self._save(name, ContentFile(minified.encode("utf-8")))
                paths[name] = (self, name)
        yield from super().post_process(paths, dry_run=dry_run, **options)
