import factory
from django.contrib.auth import get_user_model

from casework.models import ConsentPurpose, ConsentText, Membership, Organization, Role

PASSWORD = "correct horse battery staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Support organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook signature
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.CASEWORKER


class ConsentTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentText

    version = factory.Sequence(lambda n: f"1.{n}")
    title = "Likeness and hash matching consent"
    body = "I agree that my reference photos and hashes may be used to find images of me."
    purposes = [ConsentPurpose.LIKENESS_MATCHING, ConsentPurpose.HASH_MATCHING]


def staff(organization: Organization, role: str = Role.CASEWORKER):
    return MembershipFactory(organization=organization, role=role).user
