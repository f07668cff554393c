"""The project's suggestion models: list with metrics, train, activate, settings, predictions;
and the stance suggestions an annotator sees on their own assignment."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from annotate.errors import ValidationFailed
from annotate.models import ArticlePrediction
from annotate.services import training
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectAdmin, IsProjectDataReader, ReadWrite
from api.tasks.views import AssignmentMixin

from .serializers import (
    ModelSettingsIn,
    ModelSettingsOut,
    ModelsOut,
    PredictionOut,
    SuggestionsOut,
    TrainedModelOut,
    TrainQueuedOut,
)


class ReaderReadAdminWrite(ReadWrite):
    read, write = IsProjectDataReader, IsProjectAdmin


def _model_dict(m) -> dict:
    return {**{f: getattr(m, f) for f in TrainedModelOut().fields if f != "stale"}, "stale": m.stale}


class ModelListView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=ModelsOut, summary="Trained model versions with metrics, labels per target, settings")
    def get(self, request, project_id):
        models = training.model_list(self.project)
        active = next((m.version for m in models if m.is_active), None)
        return Response(ModelsOut({"active_version": active, "models": [_model_dict(m) for m in models],
                                   "labels": training.label_status(self.project),
                                   "settings": training.model_settings_state(self.project)}).data)


class ModelTrainView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    @extend_schema(request=None, responses={202: TrainQueuedOut},
                   summary="Train a new version now (on the worker's `train` queue)")
    def post(self, request, project_id):
        queued = training.model_train_request(project=self.project, by=request.user)
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class ModelActivateView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    @extend_schema(request=None, responses=TrainedModelOut,
                   summary="Make this version the active one (its predictions are recomputed)")
    def post(self, request, project_id, version):
        training.model_activate(project=self.project, version=version, by=request.user)
        model = next(m for m in training.model_list(self.project) if m.version == version)
        return Response(TrainedModelOut(_model_dict(model)).data)


class ModelSettingsView(ProjectScopedMixin, ApiView):
    permission_classes = [ReaderReadAdminWrite]

    @extend_schema(responses=ModelSettingsOut, summary="Suggestion, training and queue-order settings")
    def get(self, request, project_id):
        return Response(training.model_settings_state(self.project))

    @extend_schema(request=ModelSettingsIn, responses=ModelSettingsOut, summary="Change some settings")
    def patch(self, request, project_id):
        data = ModelSettingsIn(data=request.data)
        if not data.is_valid():
            field, messages = next(iter(data.errors.items()))
            raise ValidationFailed(f"{field}: {messages[0]}", details={k: [str(m) for m in v] for k, v in
                                                                        data.errors.items()})
        return Response(training.model_settings_update(project=self.project, by=request.user,
                                                       fields=dict(data.validated_data)))


class ArticlePredictionView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=PredictionOut, summary="The active model's stored prediction for one article")
    def get(self, request, project_id, article_id):
        prediction = (ArticlePrediction.objects.select_related("model")
                      .filter(article_id=article_id, article__project_id=project_id).first())
        if prediction is None:
            raise NotFound("no prediction for this article")
        return Response(PredictionOut(prediction).data)


class StanceSuggestionsView(AssignmentMixin, ApiView):
    who = ("its annotator only (suggestions are shown on one's own assignments); reviewers and admins of the "
           "project get 403, anyone else 404.")

    @extend_schema(responses=SuggestionsOut,
                   summary="The model's stance (and frame) suggestions for your own assignment; records that they "
                           "were shown")
    def get(self, request, assignment_id):
        assignment = self.get_assignment()
        if assignment.annotator_id != request.user.pk:
            raise PermissionDenied("Suggestions are shown to the assignment's annotator only.")
        return Response(SuggestionsOut(training.stance_suggestions(assignment=assignment)).data)
