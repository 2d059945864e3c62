from watcher.identity import Identity, is_public_mail_domain


def test_addresses_aliases_and_plus_forms() -> None:
    me = Identity(["Me@Example.com", "alias@other.org"])
    assert me.is_me("me@example.com")
    assert me.is_me("ME@EXAMPLE.COM")
    assert me.is_me("alias@other.org")
    assert me.is_me("me+10d@example.com")
    assert not me.is_me("me@example.org")
    assert not me.is_me("someone+me@example.com")
    assert me.plus_tag("me+mute@example.com") == "mute"
    assert me.plus_tag("other+mute@example.com") is None


def test_public_mail_providers() -> None:
    for domain in (
        "gmail.com",
        "googlemail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "yahoo.com.br",
        "mail.yahoo.com",
        "gmx.de",
        "gmx.net",
        "email.msn.com",
        "yandex.ru",
        "icloud.com",
        "proton.me",
    ):
        assert is_public_mail_domain(domain), domain
    for domain in ("corp.example", "olive.com", "gmail.corp.example", "yahoo-finance.example"):
        assert not is_public_mail_domain(domain), domain


def test_colleagues_share_my_domain_or_a_subdomain_of_it() -> None:
    me = Identity(["me@corp.example", "me@gmail.com"])
    assert me.own_domains == ("corp.example",)
    assert me.colleague_because("bob@corp.example") == "corp.example"
    assert me.colleague_because("Carl@Mail.Corp.Example") == "corp.example"
    assert not me.is_colleague("me@corp.example")  # me, not a colleague
    assert not me.is_colleague("me+10d@corp.example")
    assert not me.is_colleague("friend@gmail.com")  # a public provider makes no colleagues
    assert not me.is_colleague("eve@evilcorp.example")
    assert not me.is_colleague("corp.example")  # no address at all


def test_configured_colleagues() -> None:
    me = Identity(["me@gmail.com"], colleagues=["partner.example", "*@Agency.example", "jo@x.org"])
    assert me.own_domains == ()
    assert me.colleague_because("pat@eu.partner.example") == "partner.example"
    assert me.colleague_because("ann@agency.example") == "*@agency.example"
    assert me.colleague_because("jo@x.org") == "jo@x.org"
    assert not me.is_colleague("al@x.org")
    assert not me.is_colleague("bo@sub.agency.example")  # a pattern is a pattern


def test_sent_from_adds_my_domains_but_no_public_provider() -> None:
    me = Identity(["me@gmail.com"])
    assert me.with_sent_from([("", "me@hotmail.de")]) is me
    work = me.with_sent_from([("", "Me@Corp.example"), ("", "other@yahoo.fr")])
    assert work.own_domains == ("corp.example",)
    assert work.is_colleague("bob@corp.example")
    assert work.is_me("me@gmail.com")
