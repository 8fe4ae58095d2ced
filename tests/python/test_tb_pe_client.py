"""ThingsBoard Professional Edition's Python REST client (PyPI `tb-pe-client`),
unmodified, against a running Clientele: entity groups, customers created into
them and under other customers, and a user created into a customer's
administrators and activated, which as that customer's administrator creates
its own sub-customer and user and is refused (403, code 20) anything outside
the customer's subtree. Run by tests/all/python_client.rs, which starts
the server and passes its URL and the tenant administrator's login in the
environment.
"""

import json
import os
import uuid

import pytest
from tb_pe_client import ThingsboardClient
from tb_pe_client.exceptions import BadRequestException, ForbiddenException, NotFoundException
from tb_pe_client.models import (
    ActivateUserRequest,
    Customer,
    CustomerId,
    EntityGroup,
    User,
)

URL = os.environ["CLIENTELE_URL"]
PASSWORD = "Pe-client-pass-1"


@pytest.fixture(scope="module")
def admin():
    return ThingsboardClient(
        URL,
        os.environ["CLIENTELE_TENANT_ADMIN_EMAIL"],
        os.environ["CLIENTELE_TENANT_ADMIN_PASSWORD"],
    )


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_customers_and_users_are_created_into_groups_and_under_customers(admin):
    me = admin.get_user()
    tenant = me.tenant_id.id

    # A customer group of the tenant, and a customer created into it.
    group = admin.save_entity_group(EntityGroup(name=unique("Key accounts"), type="CUSTOMER"))
    assert group.owner_id.entity_type == "TENANT"
    assert group.owner_id.id == tenant
    assert group.group_all is False
    acme = admin.save_customer(Customer(title=unique("Acme")), entity_group_id=str(group.id.id))
    in_group = admin.get_customers_by_entity_group_id(str(group.id.id), "10", "0")
    assert [c.id.id for c in in_group.data] == [acme.id.id]
    groups_of_acme = {g.id for g in admin.get_entity_groups_for_entity("CUSTOMER", str(acme.id.id))}
    assert group.id.id in groups_of_acme
    all_customers = admin.get_entity_group_all_by_owner_and_type("TENANT", str(tenant), "CUSTOMER")
    assert all_customers.group_all is True
    assert all_customers.id.id in groups_of_acme

    # A sub-customer owned by it.
    east = admin.save_customer(
        Customer(
            title=unique("Acme East"),
            parent_customer_id=CustomerId(entity_type="CUSTOMER", id=acme.id.id),
        )
    )
    assert east.owner_id.entity_type == "CUSTOMER"
    assert east.owner_id.id == acme.id.id
    acme_all = admin.get_entity_group_all_by_owner_and_type("CUSTOMER", str(acme.id.id), "CUSTOMER")
    below = admin.get_customers_by_entity_group_id(str(acme_all.id.id), "10", "0")
    assert [c.title for c in below.data] == [east.title]
    # Owned by Acme, it can't join the tenant's group.
    with pytest.raises(BadRequestException):
        admin.add_entities_to_entity_group(str(group.id.id), [str(east.id.id)])

    # A user created into Acme's administrators, then activated.
    admins = admin.get_entity_group_by_owner_and_name_and_type(
        "CUSTOMER", str(acme.id.id), "USER", "Customer Administrators"
    )
    assert admins.owner_ids[0].id == acme.id.id
    email = f"boss-{uuid.uuid4().hex[:8]}@acme.io"
    boss = admin.save_user(
        User(email=email, authority="CUSTOMER_USER"),
        send_activation_mail="false",
        entity_group_id=str(admins.id.id),
    )
    assert boss.customer_id.id == acme.id.id
    members = admin.get_users_by_entity_group_id(str(admins.id.id), 10, 0)
    assert [u.email for u in members.data] == [email]
    link = admin.get_activation_link(str(boss.id.id))
    token = link.split("activateToken=")[1]
    pair = admin.activate_user(ActivateUserRequest(activate_token=token, password=PASSWORD))
    assert pair.token

    # The user logs in with its new password.
    user = ThingsboardClient(URL, email, PASSWORD)
    assert user.get_user().authority == "CUSTOMER_USER"

    # As a customer administrator it creates its own sub-customer of Acme,
    # and a user there.
    west = user.save_customer(
        Customer(
            title=unique("Acme West"),
            parent_customer_id=CustomerId(entity_type="CUSTOMER", id=acme.id.id),
        )
    )
    assert west.owner_id.id == acme.id.id
    helper = user.save_user(
        User(
            email=f"helper-{uuid.uuid4().hex[:8]}@acme.io",
            authority="CUSTOMER_USER",
            customer_id=CustomerId(entity_type="CUSTOMER", id=west.id.id),
        ),
        send_activation_mail="false",
    )
    assert helper.customer_id.id == west.id.id
    assert user.get_customer_by_id(str(east.id.id)).title == east.title

    # Outside Acme's subtree: refused with ThingsBoard's "permission denied".
    outsider = admin.save_customer(Customer(title=unique("Outsider")))
    refusals = [
        lambda: user.get_customer_by_id(str(outsider.id.id)),
        lambda: user.save_customer(Customer(title=unique("Top level"))),
        lambda: user.save_customer(
            Customer(
                title=unique("Under outsider"),
                parent_customer_id=CustomerId(entity_type="CUSTOMER", id=outsider.id.id),
            )
        ),
        lambda: user.delete_customer(str(acme.id.id)),
        lambda: user.save_user(
            User(
                email=f"intruder-{uuid.uuid4().hex[:8]}@acme.io",
                authority="CUSTOMER_USER",
                customer_id=CustomerId(entity_type="CUSTOMER", id=outsider.id.id),
            ),
            send_activation_mail="false",
        ),
    ]
    for refused in refusals:
        with pytest.raises(ForbiddenException) as e:
            refused()
        assert e.value.status == 403
        assert json.loads(e.value.body)["errorCode"] == 20
    assert admin.get_customer_by_id(str(acme.id.id)).title == acme.title


def test_groups_refuse_what_they_cannot_hold(admin):
    with pytest.raises(BadRequestException):
        admin.save_entity_group(EntityGroup(name="all", type="DEVICE"))
    devices = admin.get_all_entity_groups_by_type("DEVICE")
    everything = next(g for g in devices if g.group_all)
    with pytest.raises(BadRequestException):
        admin.delete_entity_group(str(everything.id.id))
    with pytest.raises(NotFoundException):
        admin.get_entity_group_by_id(str(uuid.uuid1()))
    pumps = admin.save_entity_group(EntityGroup(name=unique("Pumps"), type="DEVICE"))
    page = admin.get_entity_groups_by_type_and_page_link("DEVICE", "10", "0")
    assert pumps.id.id in {g.id.id for g in page.data}
    admin.delete_entity_group(str(pumps.id.id))
    with pytest.raises(NotFoundException):
        admin.get_entity_group_by_id(str(pumps.id.id))


def test_a_customer_user_cannot_create_groups(admin):
    acme = admin.save_customer(Customer(title=unique("Reader Co")))
    email = f"reader-{uuid.uuid4().hex[:8]}@reader.io"
    reader = admin.save_user(
        User(
            email=email,
            authority="CUSTOMER_USER",
            customer_id=CustomerId(entity_type="CUSTOMER", id=acme.id.id),
        ),
        send_activation_mail="false",
    )
    token = admin.get_activation_link(str(reader.id.id)).split("activateToken=")[1]
    admin.activate_user(ActivateUserRequest(activate_token=token, password=PASSWORD))
    user = ThingsboardClient(URL, email, PASSWORD)
    with pytest.raises(ForbiddenException):
        user.save_entity_group(EntityGroup(name="Mine", type="DEVICE"))
