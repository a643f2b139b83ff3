from rest_framework.negotiation import DefaultContentNegotiation


class JsonNegotiation(DefaultContentNegotiation):
    """Both APIs answer in JSON only: a view with one renderer answers with it, without
    parsing the client's Accept header on every request. Views with more (the OpenAPI
    schema, its docs page) choose as DRF does."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
