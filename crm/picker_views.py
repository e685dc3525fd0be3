"""The endpoint behind every record picker: options as the user types, or a search page without JavaScript."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe
from django_htmx.http import HttpResponseClientRedirect

from crm.pickers import clean_query, get_pick_source


@require_safe
def pick(request, source: str):
    """At most 20 options of `source` matching `?q=` among what the user may choose."""
    if not request.user.is_authenticated:
        if request.htmx:  # the options box must not fill with the sign-in page
            return HttpResponseClientRedirect(redirect_to_login(request.htmx.current_url_abs_path or "/").url)
        return redirect_to_login(request.get_full_path())
    try:
        pick_source = get_pick_source(source)
    except LookupError:
        raise Http404 from None
    query = clean_query(request.GET.get("q", ""))
    options, more = pick_source.options(request.user, query) if query else ([], False)
    context = {"query": query, "options": options, "more": more}
    if request.htmx:
        # Without the request: the page shell's context processors (navigation, permissions) would
        # cost queries on every keystroke for a fragment that shows none of it.
        response = HttpResponse(render_to_string("crm/_pick_options.html", context))
    else:
        response = render(request, "crm/pick.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
