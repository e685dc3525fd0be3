"""factory_boy factories for tickets. A ticket gets its number and SLA clock as the service
gives them; the owner (assignee) is a member of the team, as in `crm.tests.factories.OwnedFactory`."""

import factory
from django.db import transaction
from django.utils import timezone

from crm.pickers import record_source_model
from crm.tests.factories import OwnedFactory
from customers.tests.factories import CompanyFactory, ContactFactory
from tickets.models import RELATED_SOURCE, Category, Message, Priority, Ticket
from tickets.services import next_number, recompute_sla


def _owned_like(ticket) -> dict:
    """The ticket's customer belongs to its assignee (or, unassigned, to someone of its team)."""
    return {"owner": ticket.owner, "team": ticket.team} if ticket.owner else {"team": ticket.team}


class TicketFactory(OwnedFactory):
    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    subject = factory.Sequence(lambda n: f"打印机无法连接 {n}")
    description = "客户报告设备离线。"
    company = factory.LazyAttribute(lambda o: CompanyFactory(**_owned_like(o)))
    contact = factory.LazyAttribute(lambda o: ContactFactory(**_owned_like(o), company=o.company))
    priority = factory.LazyFunction(lambda: Priority.objects.get(is_default=True))
    category = factory.LazyFunction(lambda: Category.objects.order_by("order").first())

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with transaction.atomic():
            ticket = model_class(*args, **kwargs)
            ticket.number = next_number(year=timezone.localdate().year)
            ticket.created_at = timezone.now()
            recompute_sla(ticket)
            ticket.save()
        return ticket


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    kind = Message.Kind.CUSTOMER
    body = "还是不行。"


def make_deal(*, owner, team, name: str, company=None):
    """An open deal (at a company of the same owner and team unless one is given), built without
    importing pipeline (the import contract holds for tests too): through the model pipeline
    registered as the "pipeline.opportunity" pick source, in the default pipeline's first open
    stage (seeded)."""
    deal_model = record_source_model(RELATED_SOURCE)
    stages = deal_model._meta.get_field("stage").related_model.objects
    stage = stages.filter(kind="open").order_by("-pipeline__is_default", "order", "pk").first()
    return deal_model.objects.create(
        name=name,
        owner=owner,
        team=team,
        company=company or CompanyFactory(owner=owner, team=team),
        pipeline=stage.pipeline,
        stage=stage,
    )
