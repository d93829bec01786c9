from ninja import Router

router = Router(tags=["nightschool"])


@router.get("/lessons", url_name="nightschool_lessons")
def lessons(request):
    return [{"title": "电动车安全"}]
