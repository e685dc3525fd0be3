from crm.navigation import navigation_for


def shell(request):
    """What the base layout needs on every page: the navigation the user may open."""
    return {"navigation": navigation_for(request)}
