"""Compatibility test: drive Clientele with the official ThingsBoard Python REST client (tb-rest-client, unmodified).

Environment (read inside the tests, so importing this module never fails):
  CLIENTELE_URL                     e.g. http://127.0.0.1:8080
  CLIENTELE_TENANT_ADMIN_EMAIL
  CLIENTELE_TENANT_ADMIN_PASSWORD

Notes on client quirks this test works around (see NOTES.md):
  * login() never raises on bad credentials, so we check the token ourselves;
  * the ApiClient returns (instead of raising) an exception object when a model fails to deserialize, so every
    response is type-checked;
  * get_activation_link() returns str(bytes) ("b'http://...'") for a text/plain answer, so the link is unwrapped.
"""
import os
import re
import uuid

import jwt
import pytest
from tb_rest_client.rest import ApiException
from tb_rest_client.rest_client_ce import (
    ActivateUserRequest,
    Customer,
    CustomerId,
    JwtPair,
    PageDataCustomer,
    PageDataUser,
    RestClientCE,
    User,
)

ENV_VARS = ("CLIENTELE_URL", "CLIENTELE_TENANT_ADMIN_EMAIL", "CLIENTELE_TENANT_ADMIN_PASSWORD")
ACTIVATE_LINK_RE = re.compile(r"^https?://[^\s/]+(?:/[^\s?]*)?/api/noauth/activate\?activateToken=([^&\s'\"]+)$")


@pytest.fixture(scope="module")
def env():
    missing = [name for name in ENV_VARS if not os.environ.get(name)]
    if missing:
        pytest.fail("missing environment variable(s) %s: set CLIENTELE_URL to the server under test "
                    "(e.g. http://127.0.0.1:8080) and the tenant administrator's e-mail and password"
                    % ", ".join(missing), pytrace=False)
    return {name: os.environ[name] for name in ENV_VARS}


@pytest.fixture(scope="module")
def run_id():
    return uuid.uuid4().hex[:12]


def login(url, email, password):
    """RestClientCE.login() swallows HTTP errors (it only does requests.post(...).json()), so check the token."""
    client = RestClientCE(base_url=url)
    client.start()  # the refresh thread, as with `with RestClientCE(...) as client:`
    try:
        client.login(username=email, password=password)
        token = client.token_info.get("token")
        assert token, "login as %s returned no token" % email
        claims = jwt.decode(token, options={"verify_signature": False})
        assert isinstance(claims.get("exp"), int), "JWT has no integer 'exp' claim: %r" % claims
        assert client.token_info["exp"] == claims["exp"]
    except BaseException:
        client.stop()
        raise
    return client


@pytest.fixture(scope="module")
def admin(env):
    client = login(env["CLIENTELE_URL"], env["CLIENTELE_TENANT_ADMIN_EMAIL"], env["CLIENTELE_TENANT_ADMIN_PASSWORD"])
    yield client
    client.stop()


@pytest.fixture
def cleanup(admin):
    """Customers created by a test; deleted afterwards (best effort: deleting a customer deletes its users)."""
    ids = []
    yield ids
    for cid in ids:
        try:
            admin.delete_customer(CustomerId(id=cid, entity_type="CUSTOMER"))
        except ApiException:
            pass


def is_model(obj, name):
    # The ApiClient picks the models_pe class when the JSON keys match it exactly, else models_ce: accept both.
    return type(obj).__name__ == name and type(obj).__module__.startswith("tb_rest_client.models.")


def check_customer(c, expected_title=None):
    assert is_model(c, "Customer"), "expected a Customer, got %r" % (c,)
    assert is_model(c.id, "CustomerId"), "customer id did not deserialize: %r" % (c.id,)
    assert c.id.entity_type == "CUSTOMER"
    uuid.UUID(c.id.id)
    assert isinstance(c.created_time, int) and c.created_time > 0, c.created_time
    assert isinstance(c.version, int), "customer version: %r" % (c.version,)
    assert is_model(c.tenant_id, "TenantId") and c.tenant_id.entity_type == "TENANT", c.tenant_id
    if expected_title is not None:
        assert c.title == expected_title
        assert c.name == expected_title
    return c


def unwrap_link(link):
    """tb-rest-client does str(response.data) on a text/plain body, giving "b'http://...'"; a JSON string body
    would come back clean. Accept both."""
    assert isinstance(link, str), "activation link is not a string: %r" % (link,)
    m = re.fullmatch(r"b'(.*)'", link)
    return m.group(1) if m else link


def test_customer_crud(admin, run_id, cleanup):
    titles = ["Alpha %s" % run_id, "Beta %s" % run_id, "Gamma %s" % run_id]
    created = []
    for i, title in enumerate(titles):
        body = Customer(title=title, email="c%d-%s@example.com" % (i, run_id), phone="+1 555 010%d" % i,
                        country="US", state="NY", city="City%d" % i, address="%d Main St" % i,
                        address2="Suite %d" % i, zip="1000%d" % i)
        c = check_customer(admin.save_customer(body), title)
        cleanup.append(c.id.id)
        assert c.email == body.email and c.phone == body.phone and c.country == "US" and c.state == "NY"
        assert c.city == body.city and c.address == body.address and c.address2 == body.address2 and c.zip == body.zip
        created.append(c)
    assert len({c.id.id for c in created}) == 3

    # Paging over the three (textSearch = run id isolates them), sorted by title.
    page0 = admin.get_customers(page_size=2, page=0, text_search=run_id, sort_property="title", sort_order="ASC")
    assert is_model(page0, "PageDataCustomer"), page0
    assert page0.total_elements == 3 and page0.total_pages == 2 and page0.has_next is True, page0
    assert [c.title for c in page0.data] == titles[:2]
    page1 = admin.get_customers(page_size=2, page=1, text_search=run_id, sort_property="title", sort_order="ASC")
    assert page1.total_elements == 3 and page1.has_next is False, page1
    assert [c.title for c in page1.data] == titles[2:]
    for c in page0.data + page1.data:
        check_customer(c)

    # Text search (case-insensitive substring) matching exactly one.
    one = admin.get_customers(page_size=10, page=0, text_search=("beta " + run_id).upper())
    assert one.total_elements == 1 and [c.title for c in one.data] == [titles[1]], one

    # Read by id and by title.
    beta = created[1]
    by_id = check_customer(admin.get_customer_by_id(beta.id), titles[1])
    assert by_id.id.id == beta.id.id and by_id.email == beta.email and by_id.version == beta.version
    by_title = check_customer(admin.get_tenant_customer(titles[2]), titles[2])
    assert by_title.id.id == created[2].id.id
    with pytest.raises(ApiException) as e:
        admin.get_tenant_customer("No such customer %s" % run_id)
    assert e.value.status == 404

    # Update: change the city; version must increase.
    by_id.city = "Springfield"
    updated = check_customer(admin.save_customer(by_id), titles[1])
    assert updated.id.id == beta.id.id and updated.city == "Springfield"
    assert updated.version > beta.version, (beta.version, updated.version)
    assert updated.created_time == beta.created_time
    assert admin.get_customer_by_id(beta.id).city == "Springfield"

    # Delete one and check it is gone.
    gamma = created[2]
    admin.delete_customer(gamma.id)
    with pytest.raises(ApiException) as e:
        admin.get_customer_by_id(gamma.id)
    assert e.value.status == 404, e.value
    after = admin.get_customers(page_size=10, page=0, text_search=run_id)
    assert sorted(c.title for c in after.data) == titles[:2] and after.total_elements == 2


def test_customer_user_activation_and_permissions(env, admin, run_id, cleanup):
    url = env["CLIENTELE_URL"]
    customer = check_customer(admin.save_customer(Customer(title="Users %s" % run_id, city="Oslo")))
    cleanup.append(customer.id.id)
    other = check_customer(admin.save_customer(Customer(title="Other %s" % run_id)))
    cleanup.append(other.id.id)

    email = "py-user-%s@example.com" % run_id
    user = admin.save_user(User(email=email, authority="CUSTOMER_USER", customer_id=customer.id,
                                first_name="Py", last_name="Test"), send_activation_mail=False)
    assert is_model(user, "User"), "expected a User, got %r" % (user,)
    assert is_model(user.id, "UserId") and user.id.entity_type == "USER", user.id
    assert user.email == email and user.authority == "CUSTOMER_USER"
    assert user.customer_id.id == customer.id.id and user.first_name == "Py" and user.last_name == "Test"

    users = admin.get_customer_users(customer.id, page_size=10, page=0)
    assert is_model(users, "PageDataUser"), users
    assert [u.id.id for u in users.data] == [user.id.id] and users.total_elements == 1, users

    link = unwrap_link(admin.get_activation_link(user.id))
    m = ACTIVATE_LINK_RE.match(link)
    assert m, "activation link %r does not end in /api/noauth/activate?activateToken=<token>" % link
    token = m.group(1)

    # The user is not active yet: logging in must not yield a token.
    password = "Pw-%s-9z" % uuid.uuid4().hex[:12]
    inactive = RestClientCE(base_url=url)
    try:
        inactive.login(username=email, password=password)
    except ValueError:  # non-JSON error body
        pass
    assert not inactive.token_info.get("token"), "a not yet activated user could log in"

    # activate_user needs the controllers a login creates (a fresh client has none); /api/noauth/activate is
    # sent without X-Authorization by the client anyway.
    pair = admin.activate_user(ActivateUserRequest(activate_token=token, password=password),
                               send_activation_mail=False)
    assert is_model(pair, "JwtPair") and pair.token and pair.refresh_token, pair
    claims = jwt.decode(pair.token, options={"verify_signature": False})
    assert "exp" in claims, claims

    cu = login(url, email, password)
    try:
        me = cu.get_user()
        assert is_model(me, "User"), me
        assert me.email == email and me.authority == "CUSTOMER_USER", me
        assert me.id.id == user.id.id and me.customer_id.id == customer.id.id

        own = check_customer(cu.get_customer_by_id(customer.id), customer.title)
        assert own.city == "Oslo"

        with pytest.raises(ApiException) as e:
            cu.get_customer_by_id(other.id)
        assert e.value.status == 403, e.value

        with pytest.raises(ApiException) as e:
            cu.save_customer(Customer(title="Forbidden %s" % run_id))
        assert e.value.status == 403, e.value
    finally:
        cu.stop()
    with pytest.raises(ApiException) as e:
        admin.get_tenant_customer("Forbidden %s" % run_id)
    assert e.value.status == 404
