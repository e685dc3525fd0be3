"""`generate_data` loads the sales tables in proportion to the companies."""

import pytest

from crm.datagen import generate
from pipeline.models import Lead, Opportunity, Task


@pytest.mark.django_db
def test_sales_tables_grow_in_proportion():
    generate(companies=100, seed=9, batch_size=500)

    assert Lead.objects.count() == 100
    assert Opportunity.objects.count() == 100
    assert Task.objects.count() == 100
    lead = Lead.objects.order_by("id").first()
    assert "lead" in lead.email and lead.search_text
