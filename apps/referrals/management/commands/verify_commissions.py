from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Sum

from apps.referrals.models import Commission, CommissionAccount, CommissionEntry
from apps.referrals.verification import CHECKS, commission_problems


class Command(BaseCommand):
    help = "Prove the commission ledger: balances sum to zero and match entries and commissions."

    def handle(self, *args, **options):
        accounts = CommissionAccount.objects.aggregate(
            n=Count("id"), promoters=Count("promoter", distinct=True)
        )
        entries = CommissionEntry.objects.aggregate(n=Count("id"), money=Sum("amount"))
        self.stdout.write(
            f"{accounts['n']} accounts ({accounts['promoters']} promoters), {entries['n']} "
            f"entries moving {entries['money'] or 0} yuan, {Commission.objects.count()} commissions"
        )
        problems = commission_problems()
        for name in CHECKS:
            if name in problems:
                self.stdout.write(self.style.ERROR(f"FAIL  {name}"))
                for what, pk, difference in problems[name]:
                    self.stdout.write(f"      {what} {pk or ''}: off by {difference}")
            else:
                self.stdout.write(self.style.SUCCESS(f"ok    {name}"))
        if problems:
            raise CommandError(f"{len(problems)} of {len(CHECKS)} commission checks failed.")
