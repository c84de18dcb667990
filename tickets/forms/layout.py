"""Crispy layout pieces the forms share."""

from crispy_forms.layout import Fieldset
from crispy_forms.utils import TEMPLATE_PACK
from django.conf import settings


class LocationFieldset(Fieldset):
    """The latitude and longitude fields with the map that fills them.

    The fields come first and always work on their own (no JavaScript, no tiles, keyboard);
    static/tickets/location_map.js adds the map, configured by the data-* attributes here.
    """

    template = "tickets/_location_fieldset.html"

    def render(self, form, context, template_pack=TEMPLATE_PACK, **kwargs):
        latitude, longitude = form.provider.map_opens_at
        context.update(
            {
                "location_map": {
                    "tile_url": settings.MAP_TILE_URL,
                    "attribution": settings.MAP_TILE_ATTRIBUTION,
                    "latitude": latitude,
                    "longitude": longitude,
                    "zoom": settings.MAP_DEFAULT_ZOOM,
                    "latitude_id": form["latitude"].auto_id,
                    "longitude_id": form["longitude"].auto_id,
                }
            }
        )
        return super().render(form, context, template_pack=template_pack, **kwargs)
