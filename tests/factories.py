import factory
from django.contrib.auth import get_user_model

from casework.models import (
    ConsentPurpose,
    ConsentText,
    Membership,
    Organization,
    Platform,
    PlatformHost,
    Report,
    ReporterRole,
    Role,
)

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


class ReportFactory(factory.django.DjangoModelFactory):
    """A public report as the report form would leave it (the form itself is not built yet)."""

    class Meta:
        model = Report

    organization = factory.SubFactory(OrganizationFactory)
    reference = factory.Sequence(lambda n: f"RP-TEST{n:04d}")
    pin_hash = "md5$not-a-real-pin"
    reporter_role = ReporterRole.DEPICTED
    urls = "https://video.example.com/watch/abc123\nhttps://images.example.net/i/42.jpg"
    description = "Someone posted a fake of me."
    depicts_minor = False


class PlatformFactory(factory.django.DjangoModelFactory):
    """A directory entry; ``hosts=["example.com", …]`` adds its host names."""

    class Meta:
        model = Platform
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Platform {n}")
    abuse_email = factory.Sequence(lambda n: f"abuse@platform{n}.example")

    @factory.post_generation
    def hosts(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook signature
        for host in extracted or []:
            PlatformHost.objects.create(platform=obj, host=host)
