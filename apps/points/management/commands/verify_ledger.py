from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Sum

from apps.points.models import Account, Entry, Lot
from apps.points.verification import CHECKS, ledger_problems


class Command(BaseCommand):
    help = "Prove the points ledger: balances sum to zero and match their entries and lots."

    def handle(self, *args, **options):
        accounts = Account.objects.aggregate(n=Count("id"), members=Count("member"))
        entries = Entry.objects.aggregate(n=Count("id"), points=Sum("amount"))
        lots = Lot.objects.count()
        self.stdout.write(
            f"{accounts['n']} accounts ({accounts['members']} members), {entries['n']} entries "
            f"moving {entries['points'] or 0} points, {lots} lots"
        )
        problems = ledger_problems()
        for name in CHECKS:
            if name in problems:
                self.stdout.write(self.style.ERROR(f"FAIL  {name}"))
                for what, pk, difference in problems[name]:
                    self.stdout.write(f"      {what} {pk or ''}: off by {difference}")
            else:
                self.stdout.write(self.style.SUCCESS(f"ok    {name}"))
        if problems:
            raise CommandError(f"{len(problems)} of {len(CHECKS)} ledger checks failed.")
