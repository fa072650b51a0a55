"""neurorad's exception hierarchy and the exit codes of the ``neurorad`` command.

Every error neurorad raises on purpose derives from :class:`NeuroradError`, so a caller can
catch them all at once and let programming errors (``TypeError``, ...) through. The classes
below are the kinds of problem a user can act on; modules subclass them for their own errors
(e.g. ``ManifestError(InputError)``). They also derive from ``ValueError`` where the
problem is a bad value, so existing ``except ValueError`` callers keep working.

Where each existing error sits (the module defining it, the kind it is):

=============================================  ==============================================
``InputError``                                 ``io.manifest.ManifestError``,
                                               ``io.images.ImageReadError`` (and
                                               ``NonFiniteVoxelsError``), ``io.dwi.DwiError``,
                                               ``batch.cache.InputFileError``,
                                               ``studies.common.StudyInputError``,
                                               ``studies.UnknownStudyError``,
                                               ``yamlsafe.YAMLLimitError``
``SettingsInputError``                         ``settings.schema.SettingsError``,
                                               ``filters`` spec errors
``ROIInputError``                              :class:`EmptyROIError` (the one empty-ROI error),
                                               ``preprocess.load.ROIError``,
                                               ``ROILabelError``
``DicomInputError``                            ``io.dicom_rt.DicomRtError``,
                                               ``ingest.pet_suv.SuvError``
``ResourceLimitError``                         size and memory guards
=============================================  ==============================================

Exit codes of the command line (one mapping, :func:`exit_code_for`, applied by
``neurorad.cli.main`` to whatever a command raises):

====  ==========================================================
0     success
1     the command ran, but some cases failed (see the failures table)
2     bad input or usage: manifest, settings, image, DICOM, ROI, missing file
3     interrupted (Ctrl-C); rerun to resume where it applies
4     resource limit: the work would exceed a documented memory/size limit
====  ==========================================================
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_CASES_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 3
EXIT_RESOURCE = 4


class NeuroradError(Exception):
    """Base class of every error neurorad raises on purpose."""

    exit_code = EXIT_BAD_INPUT


class InputError(NeuroradError, ValueError):
    """A file, manifest entry or argument given by the user is missing or invalid."""


class SettingsInputError(InputError):
    """Extraction or study settings are invalid (unknown key, value out of range)."""


class ROIInputError(InputError):
    """A region of interest is empty, missing or does not match its image."""


class DicomInputError(InputError):
    """A DICOM object cannot be used as asked (missing tag, not a tomographic series, ...)."""


class EmptyROIError(ROIInputError):
    """The ROI has no voxel: its label is absent from the mask, or no voxel survived
    re-segmentation. In batch extraction the case fails alone (status in the failures table);
    elsewhere it is bad input."""


class ResourceLimitError(NeuroradError, MemoryError):
    """The work would exceed a documented size or memory limit; the message names the setting."""

    exit_code = EXIT_RESOURCE


def exit_code_for(error: BaseException) -> int:
    """The command-line exit code for an error (see the module docstring).

    Examples
    --------
    >>> exit_code_for(EmptyROIError("mask.nii.gz: label 3 is empty"))
    2
    >>> exit_code_for(ResourceLimitError("too many grey levels"))
    4
    >>> exit_code_for(KeyboardInterrupt())
    3
    """
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, NeuroradError):
        return error.exit_code
    return EXIT_BAD_INPUT


def as_input_error(error: Exception, message: str | None = None) -> NeuroradError:
    """``error`` itself when it is a :class:`NeuroradError` (and no new ``message`` is
    given), else an :class:`InputError` with ``message`` (default: its message), for a
    command wrapping a library's ``ValueError`` about its input."""
    if isinstance(error, NeuroradError) and message is None:
        return error
    wrapped = InputError(str(error) if message is None else message)
    wrapped.__cause__ = error
    return wrapped
