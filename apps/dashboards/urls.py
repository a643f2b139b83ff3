from django.urls import path

from apps.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("stores/<str:code>/", views.overview, name="overview"),
]
