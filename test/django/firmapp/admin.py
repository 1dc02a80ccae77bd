from django.contrib import admin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "client", "amount_due", "amount_paid")
    list_select_related = ("client",)
    search_fields = ("number", "client__name")

    def get_queryset(self, request):
        # the admin lists the firm's own invoices
        return super().get_queryset(request).filter(firm_id=request.firm_id)
