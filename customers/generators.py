"""Generated customers for scale tests (see `crm.datagen`): rows for COPY, no audit entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from crm.datagen import GenerationContext, register
from crm.search import search_tokens
from customers.demo import company_fields, lifecycle
from customers.models import Company, website_domain


@register(model=Company, per_company=1)
def companies(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    for _ in range(count):
        owner = ctx.owner()
        created = ctx.timestamp()
        fields = company_fields(rng)
        if not ctx.encrypt:
            del fields["phone"], fields["tax_id"]
        updated = created + timedelta(days=rng.randrange(365))
        # What Company.save() derives, since COPY skips save().
        domain = website_domain(fields["website"])
        yield {
            **fields,
            "website_domain": domain,
            "search_text": search_tokens(fields["name"], fields["legal_name"], domain),
            "lifecycle": lifecycle(rng),
            "owner_id": owner.user_id,
            "team_id": owner.team_id,
            "created_at": created,
            "updated_at": updated,
            "last_activity_at": updated,
        }
