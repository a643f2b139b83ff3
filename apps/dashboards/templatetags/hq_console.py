from django import template

from apps.dashboards.hq import hq_kpis

register = template.Library()


@register.simple_tag
def hq_figures() -> dict:
    return hq_kpis()
