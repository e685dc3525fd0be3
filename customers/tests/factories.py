import factory

from customers.models import Company


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"公司 {n} 有限公司")
    city = "上海"
