from django.urls import path

from parta.invites import invitation_pages, personal_join, views

app_name = "invites"
urlpatterns = [
    path("join/", views.join, name="join"),
    path("join/phone/", views.join_phone, name="join-phone"),
    path("join/code/", views.join_code, name="join-code"),
    path("join/accept/", views.join_accept, name="join-accept"),
    # A slip's QR code: /p/#CODE (personal_join.py).
    path("p/", personal_join.personal_join, name="personal-join"),
    path("p/phone/", personal_join.personal_join_phone, name="personal-phone"),
    path("p/code/", personal_join.personal_join_code, name="personal-code"),
    path("p/accept/", personal_join.personal_join_accept, name="personal-accept"),
    path("join/request/", views.request_start, name="request-start"),
    path("join/request/<int:organization_id>/", views.request_new, name="request-new"),
    path("my/requests/", views.my_requests, name="my-requests"),
    path("manage/", views.manage, name="manage"),
    path("org/<int:organization_id>/links/", views.links, name="links"),
    path("org/<int:organization_id>/links/new/", views.link_create, name="link-create"),
    path("links/<int:link_id>/", views.link_detail, name="link"),
    path("links/<int:link_id>/new/", views.link_created, name="link-created"),
    path("links/<int:link_id>/revoke/", views.link_revoke, name="link-revoke"),
    path("org/<int:organization_id>/requests/", views.requests, name="requests"),
    path("requests/<int:request_id>/decide/", views.request_decide, name="request-decide"),
    path("org/<int:organization_id>/members/", views.members, name="members"),
    path("org/<int:organization_id>/members/<int:person_id>/", views.member, name="member"),
    path("org/<int:organization_id>/audit/", views.audit, name="audit"),
    path(
        "org/<int:organization_id>/invitations/", invitation_pages.invitations, name="invitations"
    ),
    path(
        "org/<int:organization_id>/invitations/class/<int:class_id>/",
        invitation_pages.group,
        name="invitations-class",
    ),
    path(
        "org/<int:organization_id>/invitations/class/<int:class_id>/slips/",
        invitation_pages.slips,
        name="invitations-class-slips",
    ),
    path(
        "org/<int:organization_id>/invitations/class/<int:class_id>/sms/",
        invitation_pages.group_sms,
        name="invitations-class-sms",
    ),
    path(
        "org/<int:organization_id>/invitations/staff/",
        invitation_pages.group,
        name="invitations-staff",
    ),
    path(
        "org/<int:organization_id>/invitations/staff/slips/",
        invitation_pages.slips,
        name="invitations-staff-slips",
    ),
    path(
        "org/<int:organization_id>/invitations/staff/sms/",
        invitation_pages.group_sms,
        name="invitations-staff-sms",
    ),
    path(
        "invitations/<int:invitation_id>/sms/",
        invitation_pages.invitation_sms,
        name="invitation-sms",
    ),
    path(
        "invitations/<int:invitation_id>/reissue/",
        invitation_pages.invitation_reissue,
        name="invitation-reissue",
    ),
]
