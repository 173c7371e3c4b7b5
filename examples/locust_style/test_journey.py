"""What the locustfile's run did, read back through load_result."""


def test_the_journey_followed_the_chain(load_result):
    names = {name for (method, name) in load_result.entries}
    assert {"home", "cart"} <= names
    assert load_result.entry("home").num_requests >= load_result.entry("cart").num_requests > 0


def test_the_coupon_message_arrived_before_the_users(load_result):
    from locustfile_journey import COUPONS

    assert COUPONS == ["SPRING", "SUMMER", "AUTUMN"]


def test_measured_work_is_counted_like_a_request(load_result):
    price = load_result.entry("price", method="COMPUTE")
    checkouts = load_result.entry("checkout").num_requests
    assert checkouts > 0
    # One price a checkout; a user the run's end stops between the two has priced without checking out.
    users = load_result.environment.parsed_options.num_users
    assert checkouts <= price.num_requests <= checkouts + users
    assert price.num_failures == 0
