from django.db import models


class Message(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField()
    text = models.TextField(max_length=1000)

    def __str__(self) -> str:
        return self.name
