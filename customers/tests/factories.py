"""factory_boy factories for the customer centre's models.

Companies and contacts follow `crm.tests.factories.OwnedFactory` (the owner is a member of the
team); grades and the grading policy are reference data seeded by `crm.defaults`, reused here.
"""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from crm.tests.factories import OwnedFactory, UserFactory
from customers.defaults import DEFAULT_GRADES
from customers.importing.service import JOB_KIND as IMPORT_JOB_KIND
from customers.models import (
    Company,
    Contact,
    GradeLevel,
    GradingPolicy,
    ImportBatch,
    ImportedRecord,
    ImportMapping,
    ImportTarget,
    Interaction,
    MergeRecord,
    Tag,
    Transaction,
)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签 {n}")


class CompanyFactory(OwnedFactory):
    class Meta:
        model = Company
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"公司 {n} 有限公司")
    city = "上海"

    class Params:
        key_account = factory.Trait(lifecycle=Company.Lifecycle.KEY, size_band=Company.SizeBand.LARGE)
        # Sensitive values are set through the model's own fields: saving encrypts them.
        with_identifiers = factory.Trait(
            phone=factory.Sequence(lambda n: f"021{n:08d}"),
            tax_id=factory.Sequence(lambda n: f"91310000MA{n:08d}"),
        )

    @factory.post_generation
    def tags(company, create, extracted, **kwargs):
        """CompanyFactory(tags=[vip]) tags the company."""
        if create and extracted:
            company.tags.add(*extracted)


class ContactFactory(OwnedFactory):
    """A person at a company of the same owner and team (pass company=None for an individual)."""

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    family_name = "王"
    given_name = factory.Sequence(lambda n: f"小明{n}")
    title = "采购经理"
    company = factory.SubFactory(
        CompanyFactory, owner=factory.SelfAttribute("..owner"), team=factory.SelfAttribute("..team")
    )
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")

    class Params:
        opted_in = factory.Trait(
            email_opt_in=True,
            email_opt_in_at=factory.LazyFunction(timezone.now),
            email_opt_in_source="展会 Trade show",
        )
        opted_out = factory.Trait(unsubscribed=True, unsubscribed_at=factory.LazyFunction(timezone.now))

    @factory.post_generation
    def tags(contact, create, extracted, **kwargs):
        if create and extracted:
            contact.tags.add(*extracted)


class InteractionFactory(factory.django.DjangoModelFactory):
    """A note on a company's history by its owner (services write these via `record_interaction`)."""

    class Meta:
        model = Interaction

    kind = Interaction.Kind.NOTE
    occurred_at = factory.LazyFunction(timezone.now)
    summary = factory.Sequence(lambda n: f"电话沟通 {n}")
    company = factory.SubFactory(CompanyFactory)
    actor = factory.SelfAttribute("company.owner")


class TransactionFactory(factory.django.DjangoModelFactory):
    """A paid purchase of today, recorded directly (no value or grade refresh: see `transaction_record`)."""

    class Meta:
        model = Transaction

    company = factory.SubFactory(CompanyFactory)
    date = factory.LazyFunction(datetime.date.today)
    amount = Decimal("10000.00")
    reference = factory.Sequence(lambda n: f"SO-{n:05d}")
    created_by = factory.SelfAttribute("company.owner")

    class Params:
        refunded = factory.Trait(status=Transaction.Status.REFUNDED)
        cancelled = factory.Trait(status=Transaction.Status.CANCELLED)


_CODE, _LABEL, _TIER, _MIN_SCORE = DEFAULT_GRADES[0]


class GradeLevelFactory(factory.django.DjangoModelFactory):
    """A grade: by default the seeded grade A; another code adds a grade."""

    class Meta:
        model = GradeLevel
        django_get_or_create = ("code",)

    code = _CODE
    label = _LABEL
    tier = _TIER
    min_score = _MIN_SCORE


class GradingPolicyFactory(factory.django.DjangoModelFactory):
    """The grading policy: its one row (seeded by `crm.defaults`) set to these thresholds."""

    class Meta:
        model = GradingPolicy

    window_days = 365
    recency_days = factory.List([30, 90, 180, 365])
    frequency_counts = factory.List([2, 4, 8, 16])
    monetary_amounts = factory.List([10000, 50000, 200000, 1000000])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        policy = model_class.objects.order_by("pk").first() or model_class()
        for name, value in kwargs.items():
            setattr(policy, name, value)
        policy.save()
        return policy


class MergeRecordFactory(factory.django.DjangoModelFactory):
    """What merging a (since deleted) company into `survivor` kept."""

    class Meta:
        model = MergeRecord

    class Params:
        survivor = factory.SubFactory(CompanyFactory)

    model = "customers.company"
    survivor_id = factory.SelfAttribute("survivor.pk")
    merged_id = factory.Sequence(lambda n: 900000 + n)
    merged_data = factory.LazyAttribute(lambda r: {"id": r.merged_id, "name": "旧公司", "__str__": "旧公司"})
    chosen_fields = factory.List(["name"])
    moved = factory.Dict({"contacts": 0, "interactions": 0})
    actor = factory.SelfAttribute("survivor.owner")


class ImportBatchFactory(factory.django.DjangoModelFactory):
    """An uploaded company file, its columns mapped, waiting to be checked."""

    class Meta:
        model = ImportBatch

    kind = IMPORT_JOB_KIND
    owner = factory.SubFactory(UserFactory)
    target = ImportTarget.COMPANIES
    source = factory.django.FileField(filename="companies.csv", data="公司名称,城市\n星河科技有限公司,深圳\n".encode())
    source_name = "companies.csv"
    source_format = "csv"
    headers = factory.List(["公司名称", "城市"])
    mapping = factory.Dict({"公司名称": "name", "城市": "city"})
    total = 1
    params = factory.Dict({"detected_encoding": "utf-8", "detected_delimiter": ","})


class ImportMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportMapping

    name = factory.Sequence(lambda n: f"CRM 导出格式 {n}")
    target = ImportTarget.COMPANIES
    owner = factory.SubFactory(UserFactory)
    columns = factory.Dict({"公司名称": "name", "城市": "city"})


class ImportedRecordFactory(factory.django.DjangoModelFactory):
    """A company an import created, owned by whoever ran the import, in the import's team."""

    class Meta:
        model = ImportedRecord

    class Params:
        record = factory.SubFactory(
            CompanyFactory,
            owner=factory.SelfAttribute("..batch.owner"),
            team=factory.SelfAttribute("..batch.import_team"),
        )

    batch = factory.SubFactory(ImportBatchFactory, stage=ImportBatch.Stage.IMPORTED)
    model = factory.LazyAttribute(lambda r: r.record._meta.model_name)
    object_id = factory.SelfAttribute("record.pk")
    action = ImportedRecord.Action.CREATED
    row = factory.Sequence(lambda n: n + 1)
    stamp = factory.SelfAttribute("record.updated_at")
